// Rounding a double to an accumulator format: the scalar rule shared by the matmul oracle and the
// fast path's exceptional lanes (subnormal, overflow, Inf, NaN).
#pragma once

#include <cstdint>

#include "../ref/scalar_rounding.h"
#include "swalp/matmul.h"

namespace swalp::detail {

struct AccumulatorRule {
  enum class Kind { kExact, kFloat, kFixed, kPosit } kind = Kind::kExact;
  FloatRule element;                            // kFloat
  double q = 0, limit = 0, limit_negative = 0;  // kFixed
  int posit_n = 0, posit_es = 0;                // kPosit
};

// Throws InvalidInput for a format that cannot hold a running sum (shared scales, unsigned).
AccumulatorRule accumulator_rule(const Format& format, const char* role);
AccumulatorRule exact_rule();

inline double round_accumulator(const AccumulatorRule& r, double x, Rounding rounding,
                                uint32_t bits) {
  switch (r.kind) {
    case AccumulatorRule::Kind::kExact:
      return x;
    case AccumulatorRule::Kind::kFloat:
      return quantize_float_scalar(r.element, x, rounding, bits);
    case AccumulatorRule::Kind::kFixed:
      return grid_clamped(x, r.q, r.limit, r.limit_negative, rounding, bits);
    case AccumulatorRule::Kind::kPosit:
      return quantize_posit_scalar(r.posit_n, r.posit_es, x, rounding, bits);
  }
  return x;
}

// Philox index of rounding `step` of output element (row, col) of an M x N product with `steps`
// roundings per element: the columns go in tiles of 16, and a tile's bits for consecutive steps
// are one contiguous run, ((row * tiles + col / 16) * steps + step) * 16 + col % 16, so a kernel
// fills a tile's bits for many steps at once. Thread count and SIMD width do not enter it.
constexpr uint64_t kRandomTile = 16;
inline uint64_t accumulate_random_index(uint64_t n, uint64_t steps, uint64_t row, uint64_t col,
                                        uint64_t step) {
  const uint64_t tiles = (n + kRandomTile - 1) / kRandomTile;
  return ((row * tiles + col / kRandomTile) * steps + step) * kRandomTile + col % kRandomTile;
}

// The 32 random bits (top 24 used) of that rounding.
inline uint32_t accumulate_bits(const AccumulateSpec& spec, uint64_t n, uint64_t steps,
                                uint64_t row, uint64_t col, uint64_t step) {
  if (spec.rounding != Rounding::kStochastic) return 0;
  return stochastic_random24(spec.seed, spec.stream,
                             accumulate_random_index(n, steps, row, col, step),
                             spec.stochastic_bits)
         << 8;
}

// Sizes and index ranges: throws InvalidInput when M*K, K*N, M*N or the Philox index range
// overflows.
void check_matmul_sizes(const AccumulateSpec& spec, size_t m, size_t n, size_t k);

}  // namespace swalp::detail
