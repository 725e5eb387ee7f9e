// The two experiments of `swalp theory`: SWALP and SGD-LP against full-precision SGD/SWA on a
// quadratic objective (error versus T at several gaps delta) and on a strongly convex one
// (asymptotic noise balls versus delta), with the fitted log-log slopes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "theory/chains.h"
#include "theory/problem.h"

namespace swalp::theory {

struct TheoryOptions {
  std::string data = "synthetic";  // or "fashion-mnist"
  SyntheticOptions synthetic;
  int class_negative = 7, class_positive = 9, pool = 4;  // fashion-mnist: sneaker vs ankle boot
  int64_t limit = 0;                                     // fashion-mnist examples (0 = all)
  std::string data_dir;                                  // "" = Debian's package
  double lr = 0.05;
  int64_t chains = 1000, steps = 100000;
  int64_t warmup = -1;  // steps before averaging; -1: 10 / (lr * smallest Hessian eigenvalue)
  int points = 7;       // record lengths, geometric over [steps / 10^decades, steps]
  double decades = 2;
  std::vector<int> fractional_bits = {2, 4, 6};  // fixed point gaps delta = 2^-FL
  int integer_bits = 4;                          // word length = integer_bits + FL (sign included)
  std::vector<std::string> formats;              // further spellings, reported without a delta
  uint64_t seed = 1;
};

struct PrecisionRun {
  std::string format;        // "fp32" or a spelling
  int fractional_bits = -1;  // fixed point runs; -1 otherwise
  double delta = 0;          // 2^-FL; 0 when not fixed point
  ChainStats stats;
};

struct TheoryResult {
  std::string objective, description;
  int64_t n = 0, d = 0, warmup = 0;
  double lr = 0, lambda_min = 0, lambda_max = 0, optimum_value = 0;
  std::vector<double> optimum;
  std::vector<PrecisionRun> runs;  // fp32 first, then the fixed point gaps, then formats
  // Fitted log-log slopes (least squares). Quadratic: of the distances against T, per run and
  // averaged over the fixed point runs. Strongly convex: of the asymptotic noise balls against
  // delta (SGD-LP: stationary ball; SWALP: squared bias of the average) and of SWALP's finite-T
  // distance against delta.
  double slope_t_sgd_lp = 0, slope_t_swalp = 0;
  double slope_delta_sgd_lp = 0, slope_delta_swalp = 0, slope_delta_swalp_finite_t = 0;
  double seconds = 0;
};

Objective parse_objective(const std::string& name);  // "quadratic" | "strongly-convex"

// Runs full precision and every precision of `options` on the problem the objective names
// (least squares for quadratic, L2-regularized logistic regression for strongly convex).
TheoryResult run_theory(Objective objective, const TheoryOptions& options,
                        const std::function<void(const std::string&, double)>& on_progress = {});

// Least-squares slope of log(y) against log(x) over the points with y > 0 (NaN if fewer than 2).
double log_log_slope(const std::vector<double>& x, const std::vector<double>& y);

// The record lengths: `points` values geometric over [steps / 10^decades, steps], distinct.
std::vector<int64_t> record_lengths(int64_t steps, int points, double decades);

}  // namespace swalp::theory
