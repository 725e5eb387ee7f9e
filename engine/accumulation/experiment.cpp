#include "accumulation/experiment.h"

#include <cmath>
#include <vector>

#include "swalp/error.h"
#include "swalp/matmul.h"
#include "swalp/rng.h"
#include "theory/experiments.h"

namespace swalp::accumulation {

const char* data_name(Data data) {
  switch (data) {
    case Data::kNormal:
      return "normal";
    case Data::kUniform:
      return "uniform";
    case Data::kPositive:
      return "positive";
  }
  return "normal";
}

namespace {

// Seeded values of one distribution: N(0, 1), U(-1, 1) or U(0, 1).
std::vector<float> draw(Data data, size_t count, uint64_t seed, uint64_t stream) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) {
    const double u = (double(philox_bits(seed, stream, i)) + 0.5) / 4294967296.0;
    switch (data) {
      case Data::kNormal:
        v[i] = float(philox_normal(seed, stream + 1000, 2 * i));
        break;
      case Data::kUniform:
        v[i] = float(2 * u - 1);
        break;
      case Data::kPositive:
        v[i] = float(u);
        break;
    }
  }
  return v;
}

// Normwise errors of the M x N product c_hat of a (M x K) and b (K x N), per output element
// (`per_element`) or over the whole matrix (Frobenius).
std::vector<double> errors(const std::vector<float>& a, const std::vector<float>& b,
                           const std::vector<float>& c_hat, size_t m, size_t n, size_t k,
                           bool per_element) {
  std::vector<double> out;
  double num = 0, den = 0;
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      double exact = 0, absolute = 0;
      for (size_t t = 0; t < k; ++t) {
        const double p = double(a[i * k + t]) * double(b[t * n + j]);
        exact += p;
        absolute += std::fabs(p);
      }
      const double e = double(c_hat[i * n + j]) - exact;
      if (per_element) out.push_back(absolute > 0 ? std::fabs(e) / absolute : 0.0);
      num += e * e, den += absolute * absolute;
    }
  if (!per_element) out.push_back(den > 0 ? std::sqrt(num / den) : 0.0);
  return out;
}

Point summarize(const std::vector<double>& e) {
  Point p;
  for (double x : e) p.mean_error += x / double(e.size()), p.max_error = std::max(p.max_error, x);
  return p;
}

}  // namespace

Result run(const Options& o, const std::function<void(const Point&)>& on_point) {
  if (o.min_log2_k < 0 || o.max_log2_k > 24 || o.min_log2_k > o.max_log2_k)
    throw InvalidInput("accumulate: K range 2^" + std::to_string(o.min_log2_k) + "..2^" +
                       std::to_string(o.max_log2_k) + " is not within 2^0..2^24 in order");
  if (o.trials < 1 || o.trials > 4096 || o.matrix_size < 1 || o.matrix_size > 256)
    throw InvalidInput("accumulate: trials must be in 1..4096 and the matrix size in 1..256");
  // The longest sums' operands are held at once: refuse sizes that cannot fit, before any work.
  const uint64_t longest = uint64_t(1) << o.max_log2_k;
  const uint64_t operands = longest * (1 + uint64_t(o.trials) + 2 * uint64_t(o.matrix_size));
  constexpr uint64_t kMaxOperands = uint64_t(1) << 28;  // 1 GiB of float32
  if (operands > kMaxOperands)
    throw InvalidInput("accumulate: K=2^" + std::to_string(o.max_log2_k) + " with --trials " +
                       std::to_string(o.trials) + " and --matrix-size " +
                       std::to_string(o.matrix_size) + " needs " +
                       std::to_string(operands * 4 >> 20) +
                       " MiB of operands; the limit is 1024 MiB: lower --max-log2-k, --trials "
                       "or --matrix-size");
  // Every spelling is checked before the first sum.
  std::vector<AccumulateSpec> specs;
  for (const std::string& acc : o.accumulators)
    for (const std::string& rounding : o.roundings)
      specs.push_back(parse_accumulate(acc + ":rounding=" + rounding, o.seed));
  Result result;
  uint64_t stream = 0;
  for (Data data : o.data)
    for (int e = o.min_log2_k; e <= o.max_log2_k; ++e) {
      const size_t k = size_t(1) << e;
      const size_t s = o.matrix_size;
      // Dot products: one x (1 x K), the trials' y as the columns of a K x trials matrix.
      const auto x = draw(data, k, o.seed, 10 * stream + 1);
      const auto y = draw(data, k * o.trials, o.seed, 10 * stream + 2);
      const auto a = draw(data, s * k, o.seed, 10 * stream + 3);
      const auto b = draw(data, k * s, o.seed, 10 * stream + 4);
      ++stream;
      for (size_t i = 0; i < specs.size(); ++i) {
        AccumulateSpec spec = specs[i];
        spec.stream = stream * 1000 + i;
        const std::string& accumulator = o.accumulators[i / o.roundings.size()];
        const std::string& rounding = o.roundings[i % o.roundings.size()];
        std::vector<float> dots(o.trials), product(s * s);
        matmul(spec, x.data(), y.data(), dots.data(), 1, o.trials, k);
        matmul(spec, a.data(), b.data(), product.data(), s, s, k);
        for (auto [kind, error] : {std::pair<const char*, std::vector<double>>{
                                       "dot", errors(x, y, dots, 1, o.trials, k, true)},
                                   {"matmul", errors(a, b, product, s, s, k, false)}}) {
          Point p = summarize(error);
          p.kind = kind, p.accumulator = accumulator, p.rounding = rounding;
          p.data = data_name(data), p.k = k;
          result.points.push_back(p);
          if (on_point) on_point(p);
        }
      }
    }
  // One fit per series, over its K.
  for (const Point& first : result.points) {
    if (first.k != (uint64_t(1) << o.min_log2_k)) continue;
    std::vector<double> ks, errs;
    for (const Point& p : result.points)
      if (p.kind == first.kind && p.accumulator == first.accumulator &&
          p.rounding == first.rounding && p.data == first.data)
        ks.push_back(double(p.k)), errs.push_back(p.mean_error);
    result.fits.push_back({first.kind, first.accumulator, first.rounding, first.data,
                           theory::log_log_slope(ks, errs)});
  }
  return result;
}

}  // namespace swalp::accumulation
