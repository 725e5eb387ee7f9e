// Quantize float32 arrays to a simulated format: the one entry point of the format core.
//
// Numeric contract (DESIGN.md sections 3-4; details per format in docs/formats.md):
//  - Output element i is the float32 value of the format's number chosen by the rounding mode.
//  - Stochastic rounding rounds the magnitude away from zero iff u < frac * 2^24, where u is
//    the top 24 bits of philox_bits(seed, stream, index_offset + i) (rng.h) and frac in [0, 1) is
//    the exact distance of |x| from the lower magnitude neighbour, in units of the gap to the upper
//    one. The result depends only on (seed, stream, i): identical for any thread count.
//    `stochastic:R` (stochastic_bits = R < 24) takes R random bits per element (from a byte
//    of a Philox word for R <= 8, a half for R <= 16, the word otherwise: docs/formats.md) and
//    sets the low 24 - R bits of u to ones: for the dyadic remainders of every format but dt8
//    that is the hardware rule of comparing the remainder's top R bits with R random bits; it
//    rounds up slightly less often (bias).
//  - Shared-scale formats (bfp, mx, int, dt8) take their scale per scope of `shape`; a NaN in
//    a scope makes the whole scope NaN; an Inf is an error for bfp, int and dt8, and makes the
//    block NaN for mx (OCP MX v1.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "swalp/format.h"
#include "swalp/rounding.h"

namespace swalp {

struct QuantSpec {
  Format format;
  Rounding rounding = Rounding::kNearest;
  uint64_t seed = 0;
  uint64_t stream = 0;
  // Random index of the first element: element i draws the bits of index index_offset + i,
  // so quantizing an array in consecutive slices equals quantizing it whole.
  uint64_t index_offset = 0;
  int stochastic_bits = 24;  // R of `stochastic:R`, 1..24 (24: plain stochastic)
};

// Throws InvalidInput unless spec.stochastic_bits is in 1..24.
void check_stochastic_bits(const QuantSpec& spec);

// Parses both spellings; throws InvalidInput on a bad one.
QuantSpec make_quant_spec(std::string_view format, std::string_view rounding = "nearest",
                          uint64_t seed = 0, uint64_t stream = 0);

// Quantizes n floats from `in` to `out` (which may alias `in` exactly). `shape` gives the
// dimensions (their product must be n); empty means 1-D. Row and col scopes need 2 or more
// dimensions. Throws InvalidInput for a shape that disagrees with n or the scope, and for Inf
// in a bfp/int/dt8 scope. Uses the OpenMP thread pool; the result does not depend on it.
void quantize(const QuantSpec& spec, const float* in, float* out, size_t n,
              const std::vector<int64_t>& shape = {});

// The scalar oracle (core/src/ref): the same contract, written independently of the fast
// kernels in plain per-element double arithmetic. Slow; for tests and the naive-loop benchmark.
void quantize_reference(const QuantSpec& spec, const float* in, float* out, size_t n,
                        const std::vector<int64_t>& shape = {});

}  // namespace swalp
