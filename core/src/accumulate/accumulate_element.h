// One output element of a rounded-accumulation product, as the oracle computes it; the fast
// path's fallback for accumulators without a SIMD rule (fixed point, posits) calls it too.
#pragma once

#include <vector>

#include "accumulate/accumulator_rule.h"

namespace swalp::detail {

// The spec's rounding rules for products with inner dimension k.
struct AccumulateRules {
  AccumulatorRule acc, product, outer, result;
  uint64_t steps = 0;  // roundings per output element (accumulate_steps)
};
AccumulateRules accumulate_rules(const AccumulateSpec& spec, size_t k);

// Element (row, col) of the M x N result.
double accumulate_element(const AccumulateSpec& spec, const AccumulateRules& rules,
                          const float* a_row, const float* b, size_t n, size_t row, size_t col,
                          size_t k, std::vector<double>& scratch);

}  // namespace swalp::detail
