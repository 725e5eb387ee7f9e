// Rounded-accumulation matrix products: the spec's parser, its checks, and the dispatch between
// the SIMD kernel (float accumulators) and the element-wise fallback (fixed point, posits).
#include "swalp/matmul.h"

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "accumulate/accumulate_element.h"
#include "swalp/decimal.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "swalp/text.h"

namespace swalp {

namespace detail {
// The SIMD kernel (matmul_kernels.cpp); returns false, doing nothing, where it has no rule.
bool matmul_fast(const AccumulateSpec& spec, const AccumulateRules& rules, const float* a,
                 const float* b, float* c, size_t m, size_t n, size_t k);

AccumulatorRule exact_rule() { return AccumulatorRule{}; }

AccumulatorRule accumulator_rule(const Format& format, const char* role) {
  AccumulatorRule r;
  switch (format.kind) {
    case FormatKind::kIdentity:  // fp32: every sum rounded to binary32
      r.kind = AccumulatorRule::Kind::kFloat;
      r.element = float_rule(FloatFormat{});
      return r;
    case FormatKind::kFloat:
      if (!format.element.has_sign())
        throw InvalidInput(std::string("the ") + role + " format " + format.spelling +
                           " has no sign and cannot hold a sum; accepted: float formats with a "
                           "sign, fixed:WL:FL, posit:N:ES, fp32, exact");
      r.kind = AccumulatorRule::Kind::kFloat;
      r.element = float_rule(format.element);
      return r;
    case FormatKind::kFixed: {
      r.kind = AccumulatorRule::Kind::kFixed;
      r.q = std::ldexp(1.0, -format.frac_bits);
      const double half_range = std::ldexp(1.0, format.bits - 1) * r.q;
      r.limit = half_range - r.q;
      r.limit_negative = half_range;
      return r;
    }
    case FormatKind::kPosit:
      r.kind = AccumulatorRule::Kind::kPosit;
      r.posit_n = format.bits;
      r.posit_es = format.posit_es;
      return r;
    case FormatKind::kBlockFloat:
    case FormatKind::kMx:
    case FormatKind::kInt:
    case FormatKind::kDynamicTree:
    case FormatKind::kNvfp4:
      break;
  }
  throw InvalidInput(std::string("the ") + role + " format " + format.spelling +
                     " shares a scale across elements and cannot hold one running sum; "
                     "accepted: float formats (fp16, bf16, float:E:M, ...), fixed:WL:FL, "
                     "posit:N:ES, fp32, exact");
}

void check_matmul_sizes(const AccumulateSpec& spec, size_t m, size_t n, size_t k) {
  const auto product_fits = [](uint64_t x, uint64_t y) {
    return x == 0 || y <= std::numeric_limits<uint64_t>::max() / 4 / x;
  };
  if (!product_fits(m, k) || !product_fits(k, n) || !product_fits(m, n))
    throw InvalidInput("matmul sizes M=" + std::to_string(m) + " N=" + std::to_string(n) +
                       " K=" + std::to_string(k) + " overflow 64-bit element counts");
  const uint64_t steps = accumulate_steps(spec, k);
  const uint64_t padded = m * ((uint64_t(n) + kRandomTile - 1) / kRandomTile * kRandomTile);
  if (spec.rounding == Rounding::kStochastic && !product_fits(padded, steps))
    throw InvalidInput("matmul: M*N=" + std::to_string(uint64_t(m) * n) + " times " +
                       std::to_string(steps) +
                       " roundings per element overflows the 64-bit random index");
  if (spec.order == SumOrder::kChunked && spec.chunk == 0)
    throw InvalidInput("matmul: order=chunked needs chunk=C with C >= 1");
  check_stochastic_bits(QuantSpec{Format{}, spec.rounding, 0, 0, 0, spec.stochastic_bits});
}

}  // namespace detail

namespace {

size_t summing_steps(const AccumulateSpec& spec, size_t k) {
  switch (spec.order) {
    case SumOrder::kSequential:
      return k;
    case SumOrder::kChunked:
      return spec.chunk == 0 ? k : k + (k + spec.chunk - 1) / spec.chunk;
    case SumOrder::kPairwise:
      return k == 0 ? 0 : 2 * k - 1;
  }
  return k;
}

const char* const kGrammar =
    "ACC[:chunk=C][:outer=F][:order=sequential|chunked|pairwise][:product=F][:result=F]"
    "[:rounding=R]";

[[noreturn]] void bad_spec(std::string_view spelling, const std::string& why) {
  throw InvalidInput("bad accumulation spec '" + std::string(spelling) + "': " + why +
                     "; expected " + kGrammar);
}

}  // namespace

size_t accumulate_steps(const AccumulateSpec& spec, size_t k) {
  return summing_steps(spec, k) + (spec.round_result ? 1 : 0);
}

AccumulateSpec parse_accumulate(std::string_view spelling, uint64_t seed, uint64_t stream) {
  AccumulateSpec spec;
  spec.seed = seed, spec.stream = stream;
  spec.spelling = ascii_lower(spelling);
  // Tokens: the format's own tokens, then key=value options; a value runs on over the tokens
  // that follow it until the next key (format spellings hold colons: outer=float:8:10).
  std::vector<std::string> tokens;
  for (size_t begin = 0;;) {
    const size_t colon = spec.spelling.find(':', begin);
    tokens.push_back(spec.spelling.substr(begin, colon - begin));
    if (colon == std::string::npos) break;
    begin = colon + 1;
  }
  std::string accumulator;
  std::vector<std::pair<std::string, std::string>> options;
  for (const std::string& token : tokens) {
    const size_t eq = token.find('=');
    if (eq != std::string::npos) {
      options.emplace_back(token.substr(0, eq), token.substr(eq + 1));
    } else if (!options.empty()) {
      options.back().second += ":" + token;
    } else {
      accumulator += (accumulator.empty() ? "" : ":") + token;
    }
  }
  if (accumulator.empty()) bad_spec(spelling, "the accumulator format is missing");
  if (accumulator == "exact") {
    spec.exact = true;
  } else {
    spec.accumulator = parse_format(accumulator);
    (void)detail::accumulator_rule(spec.accumulator, "accumulator");
  }
  spec.outer = parse_format("fp32");
  std::optional<SumOrder> order;
  bool outer_given = false;
  for (const auto& [key, value] : options) {
    if (value.empty()) bad_spec(spelling, "option '" + key + "' has no value");
    if (key == "chunk") {
      const std::optional<int64_t> c = parse_decimal_int(value);
      if (!c || *c < 1 || *c > (int64_t(1) << 40))
        bad_spec(spelling, "chunk=" + value + " is not an integer in 1..2^40");
      spec.chunk = size_t(*c);
    } else if (key == "outer") {
      spec.exact_outer = value == "exact";
      if (!spec.exact_outer) {
        spec.outer = parse_format(value);
        (void)detail::accumulator_rule(spec.outer, "outer");
      }
      outer_given = true;
    } else if (key == "order") {
      if (value == "sequential")
        order = SumOrder::kSequential;
      else if (value == "chunked")
        order = SumOrder::kChunked;
      else if (value == "pairwise")
        order = SumOrder::kPairwise;
      else
        bad_spec(spelling, "order=" + value + " is not sequential, chunked or pairwise");
    } else if (key == "product") {
      if (value != "exact") {
        spec.product = parse_format(value);
        (void)detail::accumulator_rule(spec.product, "product");
        spec.exact_products = false;
      }
    } else if (key == "result") {
      spec.round_result = value != "exact";
      if (spec.round_result) {
        spec.result = parse_format(value);
        (void)detail::accumulator_rule(spec.result, "result");
      }
    } else if (key == "rounding") {
      const RoundingSpelling r = parse_rounding_spelling(value);
      spec.rounding = r.mode;
      spec.stochastic_bits = r.stochastic_bits;
    } else {
      bad_spec(spelling, "unknown option '" + key + "'");
    }
  }
  spec.order = order.value_or(spec.chunk > 0 ? SumOrder::kChunked : SumOrder::kSequential);
  if (spec.order == SumOrder::kChunked && spec.chunk == 0)
    bad_spec(spelling, "order=chunked needs chunk=C");
  if (spec.order != SumOrder::kChunked && (spec.chunk > 0 || outer_given))
    bad_spec(spelling, "chunk= and outer= belong to order=chunked");
  return spec;
}

void matmul(const AccumulateSpec& spec, const float* a, const float* b, float* c, size_t m,
            size_t n, size_t k) {
  detail::check_matmul_sizes(spec, m, n, k);
  const detail::AccumulateRules rules = detail::accumulate_rules(spec, k);
  if (detail::matmul_fast(spec, rules, a, b, c, m, n, k)) return;
  // Fixed-point and posit sums: element by element, in parallel over rows.
  const int64_t rows = int64_t(m);
#pragma omp parallel
  {
    std::vector<double> scratch;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row)
      for (size_t col = 0; col < n; ++col)
        c[size_t(row) * n + col] = float(detail::accumulate_element(
            spec, rules, a + size_t(row) * k, b, n, size_t(row), col, k, scratch));
  }
}

}  // namespace swalp
