#include "zipml/linear_sgd.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>

#include "swalp/error.h"
#include "swalp/quantize.h"
#include "zipml/optimal_levels.h"

namespace swalp::zipml {

Loss parse_loss(const std::string& name) {
  if (name == "least-squares") return Loss::kLeastSquares;
  if (name == "ls-svm") return Loss::kLsSvm;
  if (name == "logistic") return Loss::kLogistic;
  if (name == "hinge") return Loss::kHinge;
  throw InvalidInput("bad loss '" + name + "'; accepted: least-squares, ls-svm, logistic, hinge");
}

RefetchBound parse_refetch_bound(const std::string& name) {
  if (name == "worst") return RefetchBound::kWorstCase;
  if (name == "hoeffding") return RefetchBound::kHoeffding;
  throw InvalidInput("bad refetch bound '" + name + "'; accepted: worst, hoeffding");
}

Method parse_method(const std::string& name) {
  if (name == "fp32") return Method::kFull;
  if (name == "naive") return Method::kNaive;
  if (name == "double") return Method::kDoubleSampling;
  if (name == "end-to-end") return Method::kEndToEnd;
  throw InvalidInput("bad method '" + name + "'; accepted: fp32, naive, double, end-to-end");
}

std::string method_name(Method m) {
  switch (m) {
    case Method::kFull:
      return "fp32";
    case Method::kNaive:
      return "naive";
    case Method::kDoubleSampling:
      return "double";
    case Method::kEndToEnd:
      return "end-to-end";
  }
  return "?";
}

namespace {

double dot(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += double(a[j]) * b[j];
  return s;
}

// The SGD steps' dot product: eight float partial sums, which the compiler vectorizes (the
// objective keeps the double one).
__attribute__((target_clones("avx2", "default"))) float fast_dot(const float* a, const float* b,
                                                                 int64_t d) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (int k = 0; k < 8; ++k) partial[k] += a[j + k] * b[j + k];
  float s = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
            ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  for (; j < d; ++j) s += a[j] * b[j];
  return s;
}

// w = decay w - h0 a0 - h1 a1: the SGD update, fused.
__attribute__((target_clones("avx2", "default"))) void update2(float* w, float decay, float h0,
                                                               const float* a0, float h1,
                                                               const float* a1, int64_t d) {
  for (int64_t j = 0; j < d; ++j) w[j] = decay * w[j] - h0 * a0[j] - h1 * a1[j];
}

// d loss / d margin for one example with margin m = a.w and target y (a subgradient for hinge).
double loss_derivative(Loss loss, double m, double y) {
  switch (loss) {
    case Loss::kLeastSquares:
    case Loss::kLsSvm:
      return m - y;
    case Loss::kLogistic:
      return -y / (1.0 + std::exp(y * m));
    case Loss::kHinge:
      return y * m < 1 ? -y : 0.0;
  }
  return 0;
}

bool regularized(Loss loss) { return loss != Loss::kLeastSquares; }

// The bound on |a.w - Q(a).w| a refetch decision uses (RefetchBound in linear_sgd.h).
double margin_error_bound(const SampleCopies& samples, const float* w, int64_t d,
                          const SgdOptions& o) {
  double sum = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double width = std::abs(double(w[j])) * samples.max_error(j);
    sum += o.refetch_bound == RefetchBound::kWorstCase ? width : width * width;
  }
  if (o.refetch_bound == RefetchBound::kWorstCase) return sum;
  return std::sqrt(0.5 * std::log(2.0 / o.refetch_failure) * sum);
}

}  // namespace

double objective(const Dataset& data, Loss loss, double l2, const std::vector<float>& w) {
  double sum = 0;
  for (int64_t i = 0; i < data.n; ++i) {
    const double m = dot(data.row(i), w.data(), data.d), y = data.y[i];
    switch (loss) {
      case Loss::kLeastSquares:
      case Loss::kLsSvm:
        sum += 0.5 * (m - y) * (m - y);
        break;
      case Loss::kLogistic: {
        const double z = -y * m;
        sum += z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
        break;
      }
      case Loss::kHinge:
        sum += std::max(0.0, 1.0 - y * m);
        break;
    }
  }
  double reg = 0;
  if (regularized(loss))
    for (float v : w) reg += double(v) * v;
  return sum / double(data.n) + 0.5 * l2 * reg;
}

std::vector<double> sample_levels(const Dataset& data, int bits, bool optimal) {
  if (bits < 1 || bits > 8) throw InvalidInput("sample bits must be in 1..8");
  const int s = 1 << bits;
  if (!optimal) return uniform_levels(s);
  // All feature values scaled to [0, 1] per feature, as the packed samples store them.
  std::vector<double> scaled(data.x.size());
  for (int64_t j = 0; j < data.d; ++j) {
    float lo = data.x[j], hi = data.x[j];
    for (int64_t i = 0; i < data.n; ++i)
      lo = std::min(lo, data.x[i * data.d + j]), hi = std::max(hi, data.x[i * data.d + j]);
    for (int64_t i = 0; i < data.n; ++i)
      scaled[i * data.d + j] = hi > lo ? (double(data.x[i * data.d + j]) - lo) / (hi - lo) : 0.0;
  }
  std::vector<double> levels = optimal_levels_histogram(scaled, s, 1024);
  levels.front() = 0.0;  // the scaled data spans [0, 1] exactly
  levels.back() = 1.0;
  return levels;
}

std::vector<double> chebyshev_sigmoid(int degree, double range) {
  if (degree < 1 || degree > 9) throw InvalidInput("Chebyshev degree must be in 1..9");
  // Interpolate at the Chebyshev nodes, then solve the Vandermonde system for monomials of
  // t / range (well conditioned at these degrees), and rescale.
  const int k = degree + 1;
  std::vector<double> a(k * k), b(k);
  for (int i = 0; i < k; ++i) {
    const double u = std::cos(M_PI * (i + 0.5) / k);  // node in [-1, 1]
    b[i] = 1.0 / (1.0 + std::exp(u * range));         // sigmoid(-t) at t = u * range
    for (int p = 0; p < k; ++p) a[i * k + p] = std::pow(u, p);
  }
  for (int col = 0; col < k; ++col) {  // Gaussian elimination with partial pivoting
    int pivot = col;
    for (int r = col + 1; r < k; ++r)
      if (std::abs(a[r * k + col]) > std::abs(a[pivot * k + col])) pivot = r;
    for (int c = 0; c < k; ++c) std::swap(a[col * k + c], a[pivot * k + c]);
    std::swap(b[col], b[pivot]);
    for (int r = col + 1; r < k; ++r) {
      const double f = a[r * k + col] / a[col * k + col];
      for (int c = col; c < k; ++c) a[r * k + c] -= f * a[col * k + c];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> c(k);
  for (int r = k - 1; r >= 0; --r) {
    double s = b[r];
    for (int q = r + 1; q < k; ++q) s -= a[r * k + q] * c[q];
    c[r] = s / a[r * k + r];
  }
  for (int p = 0; p < k; ++p) c[p] /= std::pow(range, p);
  return c;
}

SgdResult train_linear(const Dataset& data, const SgdOptions& o) {
  if (o.epochs < 1) throw InvalidInput("epochs must be >= 1");
  if (!(o.lr > 0)) throw InvalidInput("learning rate must be > 0");
  const int64_t n = data.n, d = data.d;
  const bool quantized = o.method != Method::kFull;
  const bool logistic = o.loss == Loss::kLogistic, hinge = o.loss == Loss::kHinge;
  if (!(o.refetch_failure > 0 && o.refetch_failure < 1))
    throw InvalidInput("refetch failure probability must be in (0, 1)");
  if (!(o.chebyshev_range > 0) || !std::isfinite(o.chebyshev_range))
    throw InvalidInput("Chebyshev range must be a finite number > 0");
  // Copies of the samples: one for naive; two for double sampling (least squares: both are
  // directions; hinge: copy 0 decides, copy 1 is the direction); logistic: copy 0 is the
  // direction, copies 1..P the polynomial's powers, copy P + 1 decides whether the margin can
  // lie outside the Chebyshev range. A decision never reads a copy the gradient uses, so
  // conditioning on it biases nothing.
  int copies = 0;
  if (quantized) copies = o.method == Method::kNaive ? 1 : logistic ? o.chebyshev_degree + 2 : 2;
  const std::vector<double> levels =
      quantized ? sample_levels(data, o.sample_bits, o.optimal_levels) : std::vector<double>{};
  // Fresh independent copies every epoch (streams epoch * copies + c): reusing one draw would
  // make SGD converge to the minimizer of that draw's perturbed objective.
  std::unique_ptr<SampleCopies> packed;
  auto pack = [&](int epoch) {
    packed = std::make_unique<SampleCopies>(o.storage, data, o.sample_bits, levels, o.seed,
                                            uint64_t(epoch) * copies, copies);
  };
  if (quantized) pack(0);
  const std::vector<double> poly =
      logistic ? chebyshev_sigmoid(o.chebyshev_degree, o.chebyshev_range) : std::vector<double>{};
  const double l2 = regularized(o.loss) ? o.l2 : 0.0;
  const bool end_to_end = o.method == Method::kEndToEnd;
  QuantSpec model_spec, grad_spec;
  if (end_to_end) {
    model_spec = make_quant_spec("int:" + std::to_string(o.model_bits), "stochastic", o.seed + 11);
    grad_spec = make_quant_spec("int:" + std::to_string(o.grad_bits), "stochastic", o.seed + 12);
  }

  SgdResult result;
  result.w.assign(d, 0.0f);
  result.sample_bytes = quantized ? packed->bytes() : n * d * int64_t(sizeof(float));
  std::vector<float> w_read(d), g(d), q0(d), q1(d);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  int64_t refetches = 0, steps = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    if (epoch > 0 && copies > 0) pack(epoch);  // not timed: the data arrives quantized
    const auto start = std::chrono::steady_clock::now();
    std::mt19937_64 shuffle(o.seed * 1000003 + epoch);
    std::shuffle(order.begin(), order.end(), shuffle);
    const float lr = float(o.lr * std::pow(o.lr_decay, epoch));
    int64_t bytes = result.sample_bytes;  // every row of every copy once, plus the refetches
    for (int64_t i : order) {
      float* w = result.w.data();
      const float* wr = w;
      if (end_to_end) {  // the model as the compute units read it
        for (int64_t j = 0; j < d; ++j)
          if (!std::isfinite(w[j]))
            throw RuntimeFailure("the end-to-end run diverged at epoch " +
                                 std::to_string(epoch + 1) + "; lower the learning rate");
        model_spec.stream = uint64_t(steps);
        quantize(model_spec, w, w_read.data(), size_t(d));
        wr = w_read.data();
      }
      const double y = data.y[i];
      double scale = 0;  // gradient = scale * direction + l2 * w
      const float* direction = nullptr;
      if (!quantized) {
        const float* a = data.row(i);
        const double m = fast_dot(a, wr, d);
        direction = a;
        scale = loss_derivative(o.loss, m, y);
      } else {
        packed->decode_row(i, 0, q0.data());
        if (o.method == Method::kNaive) {
          const double m = fast_dot(q0.data(), wr, d);
          direction = q0.data();
          scale = loss_derivative(o.loss, m, y);
        } else if (!logistic && !hinge) {
          // Symmetrized double sampling: (Q1 (Q0.w - y) + Q0 (Q1.w - y)) / 2, as one direction.
          packed->decode_row(i, 1, q1.data());
          const float r0 = fast_dot(q0.data(), wr, d) - float(y);
          const float r1 = fast_dot(q1.data(), wr, d) - float(y);
          if (!end_to_end) {  // fused update: w -= lr (Q0 r1 + Q1 r0) / 2 + lr l2 w
            const float h0 = 0.5f * lr * r1, h1 = 0.5f * lr * r0, decay = 1.0f - lr * float(l2);
            const float* a0 = q0.data();
            const float* a1 = q1.data();
            update2(w, decay, h0, a0, h1, a1, d);
            ++steps;
            continue;
          }
          for (int64_t j = 0; j < d; ++j) g[j] = 0.5f * (r1 * q0[j] + r0 * q1[j]);
          direction = g.data();
          scale = 1.0;
        } else if (hinge) {
          // Decide with copy 0 unless the rounding error could flip the decision: then refetch.
          double m = y * fast_dot(q0.data(), wr, d);
          const double bound = margin_error_bound(*packed, wr, d, o);
          packed->decode_row(i, 1, q1.data());
          direction = q1.data();
          if (std::abs(m - 1) <= bound) {
            ++refetches;
            bytes += d * int64_t(sizeof(float));
            m = y * fast_dot(data.row(i), wr, d);
            direction = data.row(i);
          }
          scale = m < 1 ? -y : 0.0;
        } else {
          // Logistic. The polynomial is meaningless outside [-R, R] (degree 3, R = 4: P(8) =
          // 2.4 where sigmoid(-8) = 3e-4): where the decision copy cannot rule that out, the
          // full-precision sample is refetched and the exact derivative used.
          packed->decode_row(i, copies - 1, q1.data());
          const double reach =
              std::abs(fast_dot(q1.data(), wr, d)) + margin_error_bound(*packed, wr, d, o);
          if (reach > o.chebyshev_range) {
            ++refetches;
            bytes += d * int64_t(sizeof(float));
            direction = data.row(i);
            scale = loss_derivative(o.loss, fast_dot(direction, wr, d), y);
          } else {
            // -y * Q_0(a) * sum_k c_k prod_{i<=k} (y Q_i(a).w), unbiased for the polynomial
            // because the copies are independent.
            double term = 1, sum = poly[0];
            for (int k = 1; k <= o.chebyshev_degree; ++k) {
              packed->decode_row(i, k, q1.data());
              term *= y * fast_dot(q1.data(), wr, d);
              sum += poly[k] * term;
            }
            direction = q0.data();
            scale = -y * sum;
          }
        }
      }
      const float fscale = float(scale), fl2 = float(l2);
      if (end_to_end) {
        for (int64_t j = 0; j < d; ++j) g[j] = fscale * direction[j] + fl2 * wr[j];
        bool finite = true;
        for (int64_t j = 0; j < d; ++j) finite = finite && std::isfinite(g[j]);
        if (!finite)
          throw RuntimeFailure("the end-to-end run diverged at epoch " + std::to_string(epoch + 1) +
                               "; lower the learning rate");
        grad_spec.stream = uint64_t(steps);
        quantize(grad_spec, g.data(), g.data(), size_t(d));
        for (int64_t j = 0; j < d; ++j) w[j] -= lr * g[j];
      } else if (fscale != 0 || fl2 != 0) {  // fused: w -= lr (scale a + l2 w)
        const float step = lr * fscale, decay = 1.0f - lr * fl2;
        update2(w, decay, step, direction, 0.0f, direction, d);
      }
      ++steps;
    }
    EpochLog log;
    log.epoch = epoch + 1;
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log.loss = objective(data, o.loss, o.l2, result.w);
    log.bytes_read = bytes;
    if (!std::isfinite(log.loss))
      throw RuntimeFailure("the " + method_name(o.method) + " run diverged at epoch " +
                           std::to_string(epoch + 1) + "; lower the learning rate");
    result.epochs.push_back(log);
  }
  result.final_loss = result.epochs.back().loss;
  result.refetch_fraction = steps > 0 ? double(refetches) / double(steps) : 0.0;
  return result;
}

std::vector<double> mean_quantized_gradient(const Dataset& data, const std::vector<float>& w,
                                            Method method, int bits, bool optimal, int draws,
                                            uint64_t seed) {
  const std::vector<double> levels = sample_levels(data, bits, optimal);
  std::vector<double> mean(data.d, 0.0);
  std::vector<float> q0(data.d), q1(data.d);
  for (int draw = 0; draw < draws; ++draw) {
    const PackedSamples first(data, bits, levels, seed, 2 * draw);
    const PackedSamples second(data, bits, levels, seed, 2 * draw + 1);
    for (int64_t i = 0; i < data.n; ++i) {
      first.decode_row(i, q0.data());
      const double r0 = dot(q0.data(), w.data(), data.d) - data.y[i];
      if (method == Method::kNaive) {
        for (int64_t j = 0; j < data.d; ++j) mean[j] += r0 * q0[j];
      } else {
        second.decode_row(i, q1.data());
        const double r1 = dot(q1.data(), w.data(), data.d) - data.y[i];
        for (int64_t j = 0; j < data.d; ++j) mean[j] += 0.5 * (r1 * q0[j] + r0 * q1[j]);
      }
    }
  }
  for (double& m : mean) m /= double(draws) * double(data.n);
  return mean;
}

}  // namespace swalp::zipml
