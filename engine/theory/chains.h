// Many independent chains of w <- Q(w - lr * g), g the gradient of one random example, run at
// once (a batch dimension over threads) so that expectations are estimated, not single paths.
// After `warmup` steps each chain also keeps the running average of its iterates (SWA/SWALP).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "swalp/quantize.h"
#include "theory/problem.h"

namespace swalp::theory {

struct ChainOptions {
  double lr = 0.01;
  int64_t chains = 1000;
  int64_t warmup = 0;
  // Averaging lengths T (steps after the warmup, ascending) at which distances are recorded;
  // the last is the run's length.
  std::vector<int64_t> record;
  std::optional<QuantSpec> quant;  // none: full precision (float32 iterates)
  uint64_t seed = 1;
};

struct ChainRecord {
  int64_t steps = 0;              // T
  double sq_dist_last = 0;        // mean over chains of |w_T - w*|^2 (SGD)
  double sq_dist_average = 0;     // mean over chains of |mean(w_1..w_T) - w*|^2 (SWA)
  double sq_dist_average_se = 0;  // its standard error over chains
};

struct ChainStats {
  std::vector<ChainRecord> records;
  // Mean over chains and over the averaging window of |w_t - w*|^2: the SGD noise ball.
  double stationary_ball = 0, stationary_ball_se = 0;
  // |E[w_bar] - w*|^2 at the last T, debiased: the squared distance of the chains' mean average
  // minus the variance of that mean (trace of the chains' covariance / chains). The part of the
  // averaged model's error that does not vanish as T grows.
  double average_sq_bias = 0, average_sq_bias_se = 0;
  std::vector<double> mean_average;  // E[w_bar] over chains
};

// Runs the chains from w = 0. Stochastic rounding of element (chain c, coordinate j) at step t
// draws index c * d + j of stream t; example choices come from their own Philox stream: the
// result does not depend on the thread count. `on_progress` gets the fraction done (from one
// thread).
ChainStats run_chains(const Problem& problem, const std::vector<double>& optimum,
                      const ChainOptions& options,
                      const std::function<void(double)>& on_progress = {});

}  // namespace swalp::theory
