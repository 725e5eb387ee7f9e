// Linear models for the convergence experiments: least squares (quadratic) and L2-regularized
// logistic regression (strongly convex, not quadratic), on synthetic data or two Fashion-MNIST
// classes, with the exact optimum computed in double precision.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace swalp::theory {

enum class Objective { kLeastSquares, kLogistic };

struct Problem {
  Objective objective = Objective::kLeastSquares;
  int64_t n = 0, d = 0;
  std::vector<double> x;  // n x d, row-major
  std::vector<double> y;  // targets (least squares) or labels -1/+1 (logistic)
  double l2 = 0;          // objective adds l2/2 * |w|^2
  std::string description;

  const double* row(int64_t i) const { return x.data() + i * d; }
};

struct SyntheticOptions {
  int64_t n = 1000, d = 2;
  double condition = 10;    // ratio of the largest to the smallest feature variance
  double weight_scale = 2;  // |w_true|
  double noise = 0.5;       // std of the least-squares target noise
  double l2 = 0;
  uint64_t seed = 1;
};

// Features x_j ~ N(0, s_j^2) with s_j^2 spread geometrically over [1/condition, 1]; least-squares
// targets x.w_true + noise, logistic labels +1 with probability sigmoid(x.w_true).
Problem make_synthetic(Objective objective, const SyntheticOptions& options);

// Two Fashion-MNIST training classes (labels -1/+1), images averaged over pool x pool blocks and
// scaled to [0, 1]; at most `limit` examples (0 = all). Throws InvalidInput for bad classes.
Problem make_fashion_mnist_pair(Objective objective, int class_negative, int class_positive,
                                int pool, double l2, int64_t limit, const std::string& dir);

// Gradient of example i's loss plus the regularizer at w, written to g (d values).
inline void example_gradient(const Problem& p, int64_t i, const double* w, double* g);

double objective_value(const Problem& p, const std::vector<double>& w);
std::vector<double> full_gradient(const Problem& p, const std::vector<double>& w);
// Hessian at w, d x d row-major.
std::vector<double> hessian(const Problem& p, const std::vector<double>& w);
// The minimizer, by Cholesky (least squares) or damped Newton (logistic) until the gradient norm
// is below 1e-12. Throws RuntimeFailure when the problem has no unique minimizer.
std::vector<double> exact_optimum(const Problem& p);
// Eigenvalues of a symmetric d x d matrix, ascending (Jacobi rotations).
std::vector<double> symmetric_eigenvalues(std::vector<double> matrix, int64_t d);

inline void example_gradient(const Problem& p, int64_t i, const double* w, double* g) {
  const double* xi = p.row(i);
  double margin = 0;
  for (int64_t j = 0; j < p.d; ++j) margin += xi[j] * w[j];
  double scale;
  if (p.objective == Objective::kLeastSquares) {
    scale = margin - p.y[i];
  } else {
    // d/dm log(1 + exp(-y m)) = -y sigmoid(-y m)
    const double ym = p.y[i] * margin;
    scale = -p.y[i] / (1.0 + __builtin_exp(ym));
  }
  for (int64_t j = 0; j < p.d; ++j) g[j] = scale * xi[j] + p.l2 * w[j];
}

}  // namespace swalp::theory
