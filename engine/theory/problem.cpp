#include "theory/problem.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/idx_reader.h"
#include "swalp/error.h"
#include "swalp/rng.h"

namespace swalp::theory {

namespace {

// Deterministic standard normals from Philox (Box-Muller), the same on every platform.
class Gaussian {
 public:
  explicit Gaussian(uint64_t seed) : seed_(seed) {}
  double next() {
    index_ += 2;
    return philox_normal(seed_, 7, index_ - 2);
  }
  double uniform() { return double(philox_bits(seed_, 8, index_++)) / 4294967296.0; }

 private:
  uint64_t seed_, index_ = 0;
};

// Solves A x = b for symmetric positive definite A (d x d) by Cholesky; false if not SPD.
bool cholesky_solve(std::vector<double> a, std::vector<double>& b, int64_t d) {
  for (int64_t j = 0; j < d; ++j) {
    double diagonal = a[j * d + j];
    for (int64_t k = 0; k < j; ++k) diagonal -= a[j * d + k] * a[j * d + k];
    if (!(diagonal > 0)) return false;
    a[j * d + j] = std::sqrt(diagonal);
    for (int64_t i = j + 1; i < d; ++i) {
      double s = a[i * d + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = s / a[j * d + j];
    }
  }
  for (int64_t i = 0; i < d; ++i) {  // L z = b
    for (int64_t k = 0; k < i; ++k) b[i] -= a[i * d + k] * b[k];
    b[i] /= a[i * d + i];
  }
  for (int64_t i = d - 1; i >= 0; --i) {  // L^T x = z
    for (int64_t k = i + 1; k < d; ++k) b[i] -= a[k * d + i] * b[k];
    b[i] /= a[i * d + i];
  }
  return true;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e * e;
  return std::sqrt(s);
}

}  // namespace

Problem make_synthetic(Objective objective, const SyntheticOptions& o) {
  if (o.n < 1 || o.d < 1) throw InvalidInput("synthetic problem needs n >= 1 and d >= 1");
  if (!(o.condition >= 1)) throw InvalidInput("condition must be >= 1");
  Problem p;
  p.objective = objective;
  p.n = o.n;
  p.d = o.d;
  p.l2 = o.l2;
  Gaussian gauss(o.seed);
  std::vector<double> scale(o.d), w_true(o.d);
  for (int64_t j = 0; j < o.d; ++j)
    scale[j] = std::sqrt(std::pow(o.condition, o.d == 1 ? 0.0 : -double(j) / double(o.d - 1)));
  for (double& w : w_true) w = gauss.next();
  const double length = norm(w_true);
  for (double& w : w_true) w *= o.weight_scale / length;
  p.x.resize(o.n * o.d);
  p.y.resize(o.n);
  for (int64_t i = 0; i < o.n; ++i) {
    double margin = 0;
    for (int64_t j = 0; j < o.d; ++j) {
      p.x[i * o.d + j] = scale[j] * gauss.next();
      margin += p.x[i * o.d + j] * w_true[j];
    }
    if (objective == Objective::kLeastSquares)
      p.y[i] = margin + o.noise * gauss.next();
    else
      p.y[i] = gauss.uniform() < 1.0 / (1.0 + std::exp(-margin)) ? 1.0 : -1.0;
  }
  p.description = std::string("synthetic ") +
                  (objective == Objective::kLeastSquares ? "least squares" : "logistic") +
                  ", n=" + std::to_string(o.n) + ", d=" + std::to_string(o.d);
  return p;
}

Problem make_fashion_mnist_pair(Objective objective, int negative, int positive, int pool,
                                double l2, int64_t limit, const std::string& dir) {
  if (negative < 0 || negative > 9 || positive < 0 || positive > 9 || negative == positive)
    throw InvalidInput("Fashion-MNIST classes must be two different labels in 0..9");
  if (pool < 1 || 28 % pool != 0) throw InvalidInput("pool must divide 28: 1, 2, 4, 7, 14 or 28");
  const std::string base = dir.empty() ? data::default_fashion_mnist_dir() : dir;
  const data::IdxArray images = data::read_idx(base + "/train-images-idx3-ubyte.gz");
  const data::IdxArray labels = data::read_idx(base + "/train-labels-idx1-ubyte.gz");
  if (images.dims.size() != 3 || images.dims[1] != 28 || images.dims[2] != 28 ||
      labels.dims.size() != 1 || labels.dims[0] != images.dims[0])
    throw InvalidInput("Fashion-MNIST files in '" + base + "' are not 28x28 images with labels");
  Problem p;
  p.objective = objective;
  p.l2 = l2;
  const int side = 28 / pool;
  p.d = int64_t(side) * side;
  for (int64_t i = 0; i < labels.dims[0] && (limit <= 0 || p.n < limit); ++i) {
    const int label = labels.values[i];
    if (label != negative && label != positive) continue;
    const uint8_t* image = images.values.data() + i * 28 * 28;
    for (int r = 0; r < side; ++r)
      for (int c = 0; c < side; ++c) {
        double sum = 0;
        for (int dr = 0; dr < pool; ++dr)
          for (int dc = 0; dc < pool; ++dc) sum += image[(r * pool + dr) * 28 + c * pool + dc];
        p.x.push_back(sum / (255.0 * pool * pool));
      }
    p.y.push_back(label == positive ? 1.0 : -1.0);
    ++p.n;
  }
  p.description = "Fashion-MNIST classes " + std::to_string(negative) + " vs " +
                  std::to_string(positive) + ", " + std::to_string(side) + "x" +
                  std::to_string(side) + " features, n=" + std::to_string(p.n);
  return p;
}

double objective_value(const Problem& p, const std::vector<double>& w) {
  double sum = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    double margin = 0;
    for (int64_t j = 0; j < p.d; ++j) margin += p.row(i)[j] * w[j];
    if (p.objective == Objective::kLeastSquares) {
      sum += 0.5 * (margin - p.y[i]) * (margin - p.y[i]);
    } else {
      const double z = -p.y[i] * margin;  // log(1 + e^z), stable
      sum += z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    }
  }
  double reg = 0;
  for (double v : w) reg += v * v;
  return sum / double(p.n) + 0.5 * p.l2 * reg;
}

std::vector<double> full_gradient(const Problem& p, const std::vector<double>& w) {
  std::vector<double> g(p.d, 0.0), gi(p.d);
  for (int64_t i = 0; i < p.n; ++i) {
    example_gradient(p, i, w.data(), gi.data());
    for (int64_t j = 0; j < p.d; ++j) g[j] += gi[j];
  }
  for (double& v : g) v /= double(p.n);
  return g;
}

std::vector<double> hessian(const Problem& p, const std::vector<double>& w) {
  const int64_t d = p.d;
  std::vector<double> h(d * d, 0.0);
  for (int64_t i = 0; i < p.n; ++i) {
    const double* xi = p.row(i);
    double curvature = 1;
    if (p.objective == Objective::kLogistic) {
      double margin = 0;
      for (int64_t j = 0; j < d; ++j) margin += xi[j] * w[j];
      const double s = 1.0 / (1.0 + std::exp(-margin));
      curvature = s * (1 - s);
    }
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) h[a * d + b] += curvature * xi[a] * xi[b];
  }
  for (double& v : h) v /= double(p.n);
  for (int64_t a = 0; a < d; ++a) h[a * d + a] += p.l2;
  return h;
}

std::vector<double> exact_optimum(const Problem& p) {
  std::vector<double> w(p.d, 0.0);
  // A minimizer is unique only where the Hessian is safely positive definite (separable
  // logistic data drives w to infinity while the gradient vanishes).
  auto checked = [&](const std::vector<double>& minimizer) {
    const std::vector<double> eigen = symmetric_eigenvalues(hessian(p, minimizer), p.d);
    if (!(eigen.front() > 1e-8 * std::max(1.0, eigen.back())))
      throw RuntimeFailure(
          "the objective has no unique minimizer (flat Hessian at the "
          "solution): " +
          p.description + "; add L2 regularization");
    return minimizer;
  };
  for (int iteration = 0; iteration < 200; ++iteration) {
    const std::vector<double> g = full_gradient(p, w);
    if (norm(g) < 1e-12) return checked(w);
    std::vector<double> step = g;
    if (!cholesky_solve(hessian(p, w), step, p.d))
      throw RuntimeFailure("the objective has no unique minimizer (singular Hessian): " +
                           p.description + "; add L2 regularization");
    // Damped Newton: halve the step until the objective decreases (or the step is negligible).
    const double f0 = objective_value(p, w);
    double t = 1;
    std::vector<double> next(p.d);
    for (int halving = 0; halving < 60; ++halving, t *= 0.5) {
      for (int64_t j = 0; j < p.d; ++j) next[j] = w[j] - t * step[j];
      if (objective_value(p, next) <= f0) break;
    }
    w = next;
  }
  if (norm(full_gradient(p, w)) < 1e-9) return checked(w);
  throw RuntimeFailure("Newton's method did not converge on " + p.description +
                       " (separable data? add L2 regularization)");
}

std::vector<double> symmetric_eigenvalues(std::vector<double> a, int64_t d) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = i + 1; j < d; ++j) off += a[i * d + j] * a[i * d + j];
    if (off < 1e-30) break;
    for (int64_t pi = 0; pi < d; ++pi)
      for (int64_t q = pi + 1; q < d; ++q) {
        const double apq = a[pi * d + q];
        if (std::abs(apq) < 1e-300) continue;
        const double theta = (a[q * d + q] - a[pi * d + pi]) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) {  // columns p, q
          const double akp = a[k * d + pi], akq = a[k * d + q];
          a[k * d + pi] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) {  // rows p, q
          const double apk = a[pi * d + k], aqk = a[q * d + k];
          a[pi * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> values(d);
  for (int64_t i = 0; i < d; ++i) values[i] = a[i * d + i];
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace swalp::theory
