// The theory experiments: problems and optima, the chains' statistics, and the two theorems'
// slopes on small configurations (tolerances from the measured seed-to-seed spread).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "swalp/error.h"
#include "theory/experiments.h"

namespace swalp::theory {
namespace {

TEST(TheoryProblem, LeastSquaresOptimumSolvesTheNormalEquations) {
  SyntheticOptions s;
  s.n = 500;
  s.d = 3;
  const Problem p = make_synthetic(Objective::kLeastSquares, s);
  const std::vector<double> w = exact_optimum(p);
  for (double g : full_gradient(p, w)) EXPECT_LT(std::abs(g), 1e-10);
  // Any other point is worse.
  std::vector<double> other = w;
  other[1] += 1e-3;
  EXPECT_GT(objective_value(p, other), objective_value(p, w));
}

TEST(TheoryProblem, LogisticOptimumByNewtonHasZeroGradient) {
  SyntheticOptions s;
  s.l2 = 0.05;
  s.weight_scale = 4;
  const Problem p = make_synthetic(Objective::kLogistic, s);
  for (double y : p.y) EXPECT_TRUE(y == 1.0 || y == -1.0);
  const std::vector<double> w = exact_optimum(p);
  for (double g : full_gradient(p, w)) EXPECT_LT(std::abs(g), 1e-10);
  // The per-example gradients average to the full gradient.
  std::vector<double> point = {0.3, -0.7}, sum(2, 0.0), g(2);
  for (int64_t i = 0; i < p.n; ++i) {
    example_gradient(p, i, point.data(), g.data());
    sum[0] += g[0] / double(p.n);
    sum[1] += g[1] / double(p.n);
  }
  const std::vector<double> full = full_gradient(p, point);
  EXPECT_NEAR(sum[0], full[0], 1e-12);
  EXPECT_NEAR(sum[1], full[1], 1e-12);
}

TEST(TheoryProblem, SeparableDataWithoutRegularizationIsAClearError) {
  Problem p;
  p.objective = Objective::kLogistic;
  p.n = 2;
  p.d = 1;
  p.x = {1.0, -1.0};
  p.y = {1.0, -1.0};
  p.description = "two points";
  EXPECT_THROW(exact_optimum(p), RuntimeFailure);
}

TEST(TheoryProblem, EigenvaluesOfAKnownMatrix) {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
  const std::vector<double> values = symmetric_eigenvalues({2, 1, 1, 2}, 2);
  EXPECT_NEAR(values[0], 1.0, 1e-12);
  EXPECT_NEAR(values[1], 3.0, 1e-12);
}

TEST(TheoryProblem, FashionMnistPairHasPooledFeaturesAndSignedLabels) {
  const Problem p = make_fashion_mnist_pair(Objective::kLogistic, 7, 9, 4, 0.01, 200, /*dir=*/"");
  EXPECT_EQ(p.n, 200);
  EXPECT_EQ(p.d, 49);
  for (double v : p.x) EXPECT_TRUE(v >= 0 && v <= 1);
  EXPECT_THROW(make_fashion_mnist_pair(Objective::kLogistic, 7, 7, 4, 0, 10, ""), InvalidInput);
  EXPECT_THROW(make_fashion_mnist_pair(Objective::kLogistic, 7, 9, 5, 0, 10, ""), InvalidInput);
}

TEST(TheoryFit, LogLogSlopeAndRecordLengths) {
  EXPECT_NEAR(log_log_slope({1, 10, 100}, {3, 0.3, 0.03}), -1.0, 1e-12);
  EXPECT_NEAR(log_log_slope({1, 2, 4}, {1, 4, 16}), 2.0, 1e-12);
  EXPECT_TRUE(std::isnan(log_log_slope({1, 2}, {1, 0})));
  const std::vector<int64_t> lengths = record_lengths(10000, 3, 2);
  EXPECT_EQ(lengths, (std::vector<int64_t>{100, 1000, 10000}));
}

ChainOptions small_chains(std::optional<QuantSpec> quant) {
  ChainOptions c;
  c.lr = 0.05;
  c.chains = 64;
  c.warmup = 100;
  c.record = {50, 400};
  c.quant = quant;
  c.seed = 3;
  return c;
}

TEST(TheoryChains, SameFiguresForAnyThreadCount) {
  const Problem p = make_synthetic(Objective::kLeastSquares, SyntheticOptions{});
  const std::vector<double> w = exact_optimum(p);
  for (const char* spelling : {"fixed:8:4", "bfp:6"}) {
    const ChainOptions c = small_chains(make_quant_spec(spelling, "stochastic", 3));
    omp_set_num_threads(1);
    const ChainStats one = run_chains(p, w, c);
    omp_set_num_threads(3);
    const ChainStats three = run_chains(p, w, c);
    omp_set_num_threads(2);
    EXPECT_EQ(one.stationary_ball, three.stationary_ball) << spelling;
    EXPECT_EQ(one.average_sq_bias, three.average_sq_bias) << spelling;
    EXPECT_EQ(one.records[1].sq_dist_average, three.records[1].sq_dist_average) << spelling;
  }
}

TEST(TheoryChains, IteratesStayOnTheFixedPointGrid) {
  // With one chain, one recorded step and no warmup, the mean average is the first iterate.
  const Problem p = make_synthetic(Objective::kLeastSquares, SyntheticOptions{});
  const std::vector<double> w = exact_optimum(p);
  ChainOptions c = small_chains(make_quant_spec("fixed:8:3", "stochastic", 5));
  c.chains = 16;
  c.warmup = 37;
  c.record = {1};
  const ChainStats s = run_chains(p, w, c);
  // The mean of 16 grid points has a denominator dividing 16 * 8.
  for (double m : s.mean_average) EXPECT_EQ(m * 128, std::round(m * 128));
}

TEST(TheoryChains, BadOptionsAreClearErrors) {
  const Problem p = make_synthetic(Objective::kLeastSquares, SyntheticOptions{});
  const std::vector<double> w = exact_optimum(p);
  ChainOptions c = small_chains(std::nullopt);
  c.record = {10, 5};
  EXPECT_THROW(run_chains(p, w, c), InvalidInput);
  c = small_chains(std::nullopt);
  c.lr = 0;
  EXPECT_THROW(run_chains(p, w, c), InvalidInput);
  TheoryOptions o;
  o.lr = 100;  // lr * lambda_max >= 2 diverges
  EXPECT_THROW(run_theory(Objective::kLeastSquares, o), InvalidInput);
  EXPECT_THROW(parse_objective("convex"), InvalidInput);
}

// Theorem 1: on least squares the average's squared distance falls as 1/T at every delta while
// SGD-LP stalls. Over seeds 1-4 this configuration measured SWALP -0.93..-0.98 and SGD-LP
// -0.00..+0.01; the bounds leave room of about three times that spread.
TEST(TheoryTheorems, QuadraticSwalpConvergesAsOneOverT) {
  TheoryOptions o;
  o.synthetic = {1000, 2, 4.0, 2.0, 0.5, 0.0, 1};
  o.lr = 0.05;
  o.chains = 200;
  o.steps = 20000;
  o.decades = 1.5;
  o.points = 5;
  o.fractional_bits = {2, 6};
  const TheoryResult r = run_theory(Objective::kLeastSquares, o);
  EXPECT_GT(r.slope_t_swalp, -1.15);
  EXPECT_LT(r.slope_t_swalp, -0.83);
  EXPECT_LT(std::abs(r.slope_t_sgd_lp), 0.1);
}

// Theorem 2: on L2-regularized logistic regression SGD-LP's noise ball scales as delta and
// SWALP's asymptotic one (the squared bias of the average) as delta^2; SWALP's finite-T
// distance still scales as delta. Seeds 1-5 measured SGD-LP +1.00..+1.01, SWALP +1.84..+2.45
// (mean 2.11, std 0.27), finite T +1.01..+1.08.
TEST(TheoryTheorems, StronglyConvexNoiseBallsScaleAsDeltaAndDeltaSquared) {
  TheoryOptions o;
  o.synthetic = {1000, 2, 4.0, 4.0, 0.0, 0.05, 1};
  o.lr = 0.005;
  o.chains = 1000;
  o.steps = 100000;
  o.decades = 1;
  o.fractional_bits = {3, 4, 5, 6};
  const TheoryResult r = run_theory(Objective::kLogistic, o);
  EXPECT_GT(r.slope_delta_sgd_lp, 0.9);
  EXPECT_LT(r.slope_delta_sgd_lp, 1.1);
  EXPECT_GT(r.slope_delta_swalp, 1.4);
  EXPECT_LT(r.slope_delta_swalp, 2.8);
  EXPECT_GT(r.slope_delta_swalp_finite_t, 0.85);
  EXPECT_LT(r.slope_delta_swalp_finite_t, 1.25);
}

}  // namespace
}  // namespace swalp::theory
