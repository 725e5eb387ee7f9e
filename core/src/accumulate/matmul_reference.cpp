// The matmul oracle: each output element summed on its own, every rounding explicit, in the
// order the spec names (swalp/matmul.h). Never optimized; the fast path is tested against it.
#include <vector>

#include "accumulate/accumulate_element.h"

namespace swalp {

namespace detail {

AccumulateRules accumulate_rules(const AccumulateSpec& spec, size_t k) {
  AccumulateRules rules;
  rules.acc = spec.exact ? exact_rule() : accumulator_rule(spec.accumulator, "accumulator");
  rules.product = spec.exact_products ? exact_rule() : accumulator_rule(spec.product, "product");
  rules.outer = spec.order == SumOrder::kChunked && !spec.exact_outer
                    ? accumulator_rule(spec.outer, "outer")
                    : exact_rule();
  rules.result = spec.round_result ? accumulator_rule(spec.result, "result") : exact_rule();
  rules.steps = accumulate_steps(spec, k);
  return rules;
}

namespace {

// The sum in the spec's order, before the result rounding.
double sum_element(const AccumulateSpec& spec, const AccumulateRules& rules, const float* a_row,
                   const float* b, size_t n, size_t row, size_t col, size_t k,
                   std::vector<double>& scratch) {
  const auto bits = [&](uint64_t step) {
    return accumulate_bits(spec, n, rules.steps, row, col, step);
  };
  // t_j: the exact product, or rounded to nearest in the product format.
  const auto term = [&](size_t j) {
    const double t = double(a_row[j]) * double(b[j * n + col]);
    return round_accumulator(rules.product, t, Rounding::kNearest, 0);
  };
  const auto round_acc = [&](double x, uint64_t step) {
    return round_accumulator(rules.acc, x, spec.rounding, bits(step));
  };
  switch (spec.order) {
    case SumOrder::kSequential: {
      double acc = 0;
      for (size_t j = 0; j < k; ++j) acc = round_acc(acc + term(j), j);
      return acc;
    }
    case SumOrder::kChunked: {
      double out = 0;
      uint64_t chunk_index = 0;
      for (size_t begin = 0; begin < k; begin += spec.chunk, ++chunk_index) {
        double acc = 0;
        for (size_t j = begin; j < k && j < begin + spec.chunk; ++j)
          acc = round_acc(acc + term(j), j);
        out = round_accumulator(rules.outer, out + acc, spec.rounding, bits(k + chunk_index));
      }
      return out;
    }
    case SumOrder::kPairwise: {
      if (k == 0) return 0;
      scratch.resize(k);
      for (size_t j = 0; j < k; ++j) scratch[j] = round_acc(term(j), j);
      uint64_t step = k;
      for (size_t len = k; len > 1;) {
        const size_t half = len / 2;
        for (size_t i = 0; i < half; ++i)
          scratch[i] = round_acc(scratch[2 * i] + scratch[2 * i + 1], step++);
        if (len % 2) scratch[half] = scratch[len - 1];
        len = half + len % 2;
      }
      return scratch[0];
    }
  }
  return 0;
}

}  // namespace

double accumulate_element(const AccumulateSpec& spec, const AccumulateRules& rules,
                          const float* a_row, const float* b, size_t n, size_t row, size_t col,
                          size_t k, std::vector<double>& scratch) {
  const double sum = sum_element(spec, rules, a_row, b, n, row, col, k, scratch);
  if (!spec.round_result) return sum;
  return round_accumulator(rules.result, sum, spec.rounding,
                           accumulate_bits(spec, n, rules.steps, row, col, rules.steps - 1));
}

}  // namespace detail

void matmul_reference(const AccumulateSpec& spec, const float* a, const float* b, float* c,
                      size_t m, size_t n, size_t k) {
  detail::check_matmul_sizes(spec, m, n, k);
  const detail::AccumulateRules rules = detail::accumulate_rules(spec, k);
  std::vector<double> scratch;
  for (size_t row = 0; row < m; ++row)
    for (size_t col = 0; col < n; ++col)
      c[row * n + col] =
          float(detail::accumulate_element(spec, rules, a + row * k, b, n, row, col, k, scratch));
}

}  // namespace swalp
