#include "theory/experiments.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "swalp/error.h"

namespace swalp::theory {

Objective parse_objective(const std::string& name) {
  if (name == "quadratic") return Objective::kLeastSquares;
  if (name == "strongly-convex") return Objective::kLogistic;
  throw InvalidInput("bad objective '" + name + "'; accepted: quadratic, strongly-convex");
}

double log_log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(y[i] > 0) || !(x[i] > 0)) continue;
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly, ++n;
  }
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

std::vector<int64_t> record_lengths(int64_t steps, int points, double decades) {
  if (steps < 1 || points < 1 || decades < 0)
    throw InvalidInput("need steps >= 1, points >= 1 and decades >= 0");
  std::vector<int64_t> lengths;
  for (int k = 0; k < points; ++k) {
    const double exponent = points == 1 ? 0.0 : decades * double(points - 1 - k) / (points - 1);
    const int64_t t = std::max<int64_t>(1, std::llround(double(steps) / std::pow(10.0, exponent)));
    if (lengths.empty() || t > lengths.back()) lengths.push_back(t);
  }
  return lengths;
}

TheoryResult run_theory(Objective objective, const TheoryOptions& o,
                        const std::function<void(const std::string&, double)>& on_progress) {
  const auto start = std::chrono::steady_clock::now();
  if (!(o.lr > 0)) throw InvalidInput("--lr must be > 0");
  if (o.chains < 2) throw InvalidInput("--chains must be >= 2 (expectations need several)");
  if (o.integer_bits < 1) throw InvalidInput("--integer-bits must be >= 1 (the sign bit)");
  for (int fl : o.fractional_bits)
    if (fl < 0 || o.integer_bits + fl > 32)
      throw InvalidInput("fractional bits " + std::to_string(fl) +
                         " out of range: need 0 <= FL and integer bits + FL <= 32");
  Problem problem;
  if (o.data == "synthetic")
    problem = make_synthetic(objective, o.synthetic);
  else if (o.data == "fashion-mnist")
    problem = make_fashion_mnist_pair(objective, o.class_negative, o.class_positive, o.pool,
                                      o.synthetic.l2, o.limit, o.data_dir);
  else
    throw InvalidInput("bad data '" + o.data + "'; accepted: synthetic, fashion-mnist");

  TheoryResult result;
  result.objective = objective == Objective::kLeastSquares ? "quadratic" : "strongly-convex";
  result.description = problem.description;
  result.n = problem.n;
  result.d = problem.d;
  result.lr = o.lr;
  result.optimum = exact_optimum(problem);
  result.optimum_value = objective_value(problem, result.optimum);
  const std::vector<double> eigen =
      symmetric_eigenvalues(hessian(problem, result.optimum), problem.d);
  result.lambda_min = eigen.front();
  result.lambda_max = eigen.back();
  if (o.lr * result.lambda_max >= 2)
    throw InvalidInput("--lr " + std::to_string(o.lr) + " diverges: it must be below 2 / " +
                       std::to_string(result.lambda_max) + " (the largest Hessian eigenvalue)");
  result.warmup = o.warmup >= 0 ? o.warmup : int64_t(std::ceil(10.0 / (o.lr * result.lambda_min)));

  // Fixed point clamps at +-2^(integer_bits - 1): an optimum outside would bias every run.
  double largest = 0;
  for (double v : result.optimum) largest = std::max(largest, std::abs(v));
  if (!o.fractional_bits.empty() && largest >= std::ldexp(0.75, o.integer_bits - 1))
    throw InvalidInput("the optimum has a coordinate of magnitude " + std::to_string(largest) +
                       ", beyond 3/4 of the fixed point range +-" +
                       std::to_string(std::ldexp(1.0, o.integer_bits - 1)) + " of --integer-bits " +
                       std::to_string(o.integer_bits) + "; raise --integer-bits or --l2");
  ChainOptions chain;
  chain.lr = o.lr;
  chain.chains = o.chains;
  chain.warmup = result.warmup;
  chain.record = record_lengths(o.steps, o.points, o.decades);
  chain.seed = o.seed;

  std::vector<std::pair<std::string, int>> precisions = {{"fp32", -1}};
  for (int fl : o.fractional_bits)
    precisions.emplace_back(
        "fixed:" + std::to_string(o.integer_bits + fl) + ":" + std::to_string(fl), fl);
  for (const std::string& f : o.formats) precisions.emplace_back(f, -1);
  for (size_t k = 0; k < precisions.size(); ++k) {
    const auto& [spelling, fl] = precisions[k];
    PrecisionRun run;
    run.format = spelling;
    run.fractional_bits = fl;
    run.delta = fl >= 0 ? std::ldexp(1.0, -fl) : 0.0;
    chain.quant.reset();
    if (spelling != "fp32") chain.quant = make_quant_spec(spelling, "stochastic", o.seed);
    run.stats = run_chains(problem, result.optimum, chain, [&](double fraction) {
      if (on_progress) on_progress(spelling, (double(k) + fraction) / double(precisions.size()));
    });
    result.runs.push_back(run);
  }

  // Slopes over the fixed point runs.
  std::vector<double> deltas, ball_lp, ball_swalp, finite_swalp;
  double sum_t_lp = 0, sum_t_swalp = 0;
  int fixed_runs = 0;
  for (const PrecisionRun& run : result.runs) {
    if (run.fractional_bits < 0) continue;
    std::vector<double> t, last, average;
    for (const ChainRecord& r : run.stats.records) {
      t.push_back(double(r.steps));
      last.push_back(r.sq_dist_last);
      average.push_back(r.sq_dist_average);
    }
    sum_t_lp += log_log_slope(t, last);
    sum_t_swalp += log_log_slope(t, average);
    ++fixed_runs;
    deltas.push_back(run.delta);
    ball_lp.push_back(run.stats.stationary_ball);
    // An unresolved bias (below two standard errors) is left out of the fit.
    ball_swalp.push_back(run.stats.average_sq_bias > 2 * run.stats.average_sq_bias_se
                             ? run.stats.average_sq_bias
                             : 0.0);
    finite_swalp.push_back(run.stats.records.back().sq_dist_average);
  }
  if (fixed_runs > 0) {
    result.slope_t_sgd_lp = sum_t_lp / fixed_runs;
    result.slope_t_swalp = sum_t_swalp / fixed_runs;
  }
  result.slope_delta_sgd_lp = log_log_slope(deltas, ball_lp);
  result.slope_delta_swalp = log_log_slope(deltas, ball_swalp);
  result.slope_delta_swalp_finite_t = log_log_slope(deltas, finite_swalp);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace swalp::theory
