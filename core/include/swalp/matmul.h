// Matrix products whose sums are rounded: the accumulator inside a GEMM, simulated exactly.
//
// C (M x N) = A (M x K) B (K x N), float32, row-major. Each product a*b is formed exactly (in
// double, where the product of two float32 values is exact), optionally rounded to nearest in a
// product format, and summed in the accumulator format with a rounding after every addition, in
// one of three orders (docs/accumulation.md):
//   sequential  acc = R(acc + t_k) for k = 0..K-1, from acc = 0
//   chunked     the same over each run of `chunk` terms, each partial sum then added into an
//               outer accumulator: out = R_outer(out + partial) (the tensor-core pattern)
//   pairwise    leaves R(t_k), then level by level R(v_2i + v_2i+1), an odd last value carried
// With `result=F` the final sum is rounded once more, to F with the same rounding mode (an fp32
// accumulator whose output is stored in bf16, say). Every addition is computed in double and then
// rounded to the format (a double rounding only where the exact sum needs more than 53 bits). C
// holds the final sum in float32, exact for every float accumulator. Stochastic rounding of element
// (row, col) at its rounding number `step` (0..S-1, S = accumulate_steps) draws Philox index
// ((row * ceil(N/16) + col / 16) * S + step) * 16 + col % 16 (16-column tiles whose bits for
// consecutive steps are contiguous), so the result depends on (seed, stream) only: not on
// threads, SIMD width or blocking. The result rounding, when there is one, is the last step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "swalp/format.h"
#include "swalp/rounding.h"

namespace swalp {

enum class SumOrder { kSequential, kChunked, kPairwise };

struct AccumulateSpec {
  // Float, fixed-point or posit formats (`fp32` rounds to binary32), or `exact`: double sums.
  Format accumulator;
  bool exact = false;
  Rounding rounding = Rounding::kNearest;
  int stochastic_bits = 24;
  // Products rounded to nearest in this format first; exact when `exact_products`.
  Format product;
  bool exact_products = true;
  SumOrder order = SumOrder::kSequential;
  size_t chunk = 0;           // chunked: terms per partial sum
  Format outer;               // chunked: the format the partial sums are added into (default fp32)
  bool exact_outer = false;   // outer=exact: double sums of the partial sums
  Format result;              // result=F: the final sum rounded to F (spec.rounding)
  bool round_result = false;  // false: the sum as it is (float32 below)
  uint64_t seed = 0, stream = 0;
  std::string spelling;  // as parsed, for reports
};

// `ACC[:chunk=C][:outer=F][:order=sequential|chunked|pairwise][:product=F][:result=F][:rounding=R]`,
// e.g. `fp16`, `bf16:order=pairwise`, `float:5:8:chunk=32:outer=fp32`, `fp16:rounding=stochastic`;
// `exact` for ACC, outer, product or result means double sums (products, result) with no
// rounding of ours.
// `chunk=C` alone means order=chunked. Throws InvalidInput naming the problem and the accepted
// values.
AccumulateSpec parse_accumulate(std::string_view spelling, uint64_t seed = 0, uint64_t stream = 0);

// The fast path (Highway SIMD over columns, blocked, OpenMP over column blocks); bit for bit
// equal to matmul_reference. Throws InvalidInput if M * N * K overflows or a size is absurd.
void matmul(const AccumulateSpec& spec, const float* a, const float* b, float* c, size_t m,
            size_t n, size_t k);

// The scalar oracle: one element at a time, every rounding explicit.
void matmul_reference(const AccumulateSpec& spec, const float* a, const float* b, float* c,
                      size_t m, size_t n, size_t k);

// The number of roundings (Philox steps) per output element for K terms, the result's included.
size_t accumulate_steps(const AccumulateSpec& spec, size_t k);

}  // namespace swalp
