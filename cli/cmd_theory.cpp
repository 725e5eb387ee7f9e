// `swalp theory quadratic | strongly-convex`: the SWALP convergence theorems by experiment.
// Prints the tables, writes distance_vs_T.csv, noise_ball_vs_delta.csv, PNG plots and
// summary.json under --out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "io/atomic_file.h"
#include "plot.h"
#include "progress_line.h"
#include "swalp/error.h"
#include "theory/experiments.h"

namespace swalp::cli {

namespace {

using theory::PrecisionRun;
using theory::TheoryOptions;
using theory::TheoryResult;

// Defaults per experiment: problems where each theorem's effect is visible within minutes.
TheoryOptions defaults(theory::Objective objective) {
  TheoryOptions o;
  if (objective == theory::Objective::kLeastSquares) {
    o.synthetic = {1000, 2, 4.0, 2.0, 0.5, 0.0, 1};
    o.lr = 0.05;
    o.chains = 1000;
    o.steps = 100000;
    o.decades = 2;
    o.fractional_bits = {2, 4, 6};
  } else {
    o.synthetic = {1000, 2, 4.0, 4.0, 0.0, 0.05, 1};
    o.lr = 0.005;
    o.chains = 2000;
    o.steps = 200000;
    o.decades = 1;
    o.fractional_bits = {4, 5, 6, 7, 8, 9};
  }
  return o;
}

struct FitLine {
  double slope = NAN, intercept = NAN;  // log2(y) = intercept + slope * log2(delta)
  double lo = NAN, hi = NAN;            // range of the measured y
};

FitLine fit(const std::vector<double>& delta, const std::vector<double>& y) {
  FitLine f;
  f.slope = theory::log_log_slope(delta, y);
  double sx = 0, sy = 0;
  int n = 0;
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] > 0) {
      sx += std::log2(delta[i]), sy += std::log2(y[i]), ++n;
      f.lo = std::isnan(f.lo) ? y[i] : std::min(f.lo, y[i]);
      f.hi = std::isnan(f.hi) ? y[i] : std::max(f.hi, y[i]);
    }
  if (n > 0) f.intercept = (sy - f.slope * sx) / n;
  return f;
}

// Fractional bits needed for a ball <= target under the fitted power law.
int bits_needed(const FitLine& f, double target) {
  return int(std::ceil((f.intercept - std::log2(target)) / f.slope));
}

std::string number(double v, const char* format = "%.3e") {
  if (std::isnan(v)) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

nlohmann::json or_null(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

void write_outputs(const std::string& dir, const TheoryOptions& o, const TheoryResult& r,
                   const nlohmann::json& half_bits) {
  std::filesystem::create_directories(dir);
  std::string t_csv = "run,format,delta,T,sgd_sq_dist,average_sq_dist,average_sq_dist_se\n";
  std::string d_csv =
      "run,format,fractional_bits,delta,sgd_ball,sgd_ball_se,average_sq_bias,average_sq_bias_se,"
      "average_sq_dist_final\n";
  nlohmann::json runs = nlohmann::json::array();
  for (size_t k = 0; k < r.runs.size(); ++k) {
    const PrecisionRun& run = r.runs[k];
    nlohmann::json records = nlohmann::json::array();
    for (const auto& rec : run.stats.records) {
      char row[256];
      std::snprintf(row, sizeof row, "%zu,%s,%.9g,%lld,%.9e,%.9e,%.3e\n", k, run.format.c_str(),
                    run.delta, static_cast<long long>(rec.steps), rec.sq_dist_last,
                    rec.sq_dist_average, rec.sq_dist_average_se);
      t_csv += row;
      records.push_back({{"T", rec.steps},
                         {"sgd_sq_dist", rec.sq_dist_last},
                         {"average_sq_dist", rec.sq_dist_average}});
    }
    char row[320];
    std::snprintf(row, sizeof row, "%zu,%s,%d,%.9g,%.9e,%.3e,%.9e,%.3e,%.9e\n", k,
                  run.format.c_str(), run.fractional_bits, run.delta, run.stats.stationary_ball,
                  run.stats.stationary_ball_se, run.stats.average_sq_bias,
                  run.stats.average_sq_bias_se, run.stats.records.back().sq_dist_average);
    d_csv += row;
    runs.push_back({{"format", run.format},
                    {"delta", run.delta > 0 ? nlohmann::json(run.delta) : nlohmann::json(nullptr)},
                    {"stationary_ball", run.stats.stationary_ball},
                    {"average_sq_bias", run.stats.average_sq_bias},
                    {"average_sq_bias_se", run.stats.average_sq_bias_se},
                    {"records", records}});
  }
  io::write_file_atomic(dir + "/distance_vs_T.csv", t_csv);
  io::write_file_atomic(dir + "/noise_ball_vs_delta.csv", d_csv);
  const nlohmann::json summary = {
      {"objective", r.objective},
      {"problem", r.description},
      {"n", r.n},
      {"d", r.d},
      {"lr", r.lr},
      {"chains", o.chains},
      {"steps", o.steps},
      {"warmup", r.warmup},
      {"seed", o.seed},
      {"lambda_min", r.lambda_min},
      {"lambda_max", r.lambda_max},
      {"optimum", r.optimum},
      {"optimum_value", r.optimum_value},
      {"runs", runs},
      {"slope_vs_T", {{"SGD-LP", or_null(r.slope_t_sgd_lp)}, {"SWALP", or_null(r.slope_t_swalp)}}},
      {"slope_vs_delta",
       {{"SGD-LP", or_null(r.slope_delta_sgd_lp)}, {"SWALP", or_null(r.slope_delta_swalp)}}},
      {"slope_vs_delta_finite_T", {{"SWALP", or_null(r.slope_delta_swalp_finite_t)}}},
      {"half_the_bits", half_bits},
      {"seconds", r.seconds}};
  io::write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");

  // Plots: one line per run, selected by the run column.
  std::string script =
      "set terminal pngcairo size 1000,650 noenhanced\nset datafile separator ','\n"
      "set logscale xy\nset format y '%.0e'\nset key outside right\nset grid\n";
  std::string t_plot, d_plot;
  for (size_t k = 0; k < r.runs.size(); ++k) {
    const std::string& f = r.runs[k].format;
    const std::string sel = "($1==" + std::to_string(k) + "?";
    t_plot += std::string(t_plot.empty() ? "plot " : ", ") +
              "'distance_vs_T.csv' every ::1 using " + sel + "$4:NaN):5 with linespoints title '" +
              f + " SGD', '' every ::1 using " + sel + "$4:NaN):6 with linespoints title '" + f +
              " average'";
  }
  script +=
      "set output 'distance_vs_T.png'\nset xlabel 'T (averaged steps)'\n"
      "set ylabel 'E |w - w*|^2'\nset title 'Squared distance to the optimum'\n" +
      t_plot + "\n";
  if (r.objective == "strongly-convex") {
    script +=
        "set output 'noise_ball_vs_delta.png'\nset xlabel 'delta (fixed point gap)'\n"
        "set key inside top left\n"
        "set ylabel 'noise ball'\nset title 'Asymptotic noise balls against delta'\n"
        "plot 'noise_ball_vs_delta.csv' every ::2 using 4:5 with linespoints title "
        "'SGD-LP: stationary E|w-w*|^2', '' every ::2 using 4:($7>2*$8?$7:NaN) with linespoints "
        "title 'SWALP: |E w_avg - w*|^2', '' every ::2 using 4:9 with linespoints title "
        "'SWALP: E|w_avg - w*|^2 at the last T'\n";
  }
  std::string why;
  if (!run_gnuplot(dir, script, why)) std::fprintf(stderr, "swalp: no plots: %s\n", why.c_str());
}

void print_and_write(const TheoryOptions& o, const TheoryResult& r, const std::string& out) {
  std::printf("swalp theory %s: %s; lr %g, %lld chains, warmup %lld, T up to %lld\n",
              r.objective.c_str(), r.description.c_str(), r.lr, static_cast<long long>(o.chains),
              static_cast<long long>(r.warmup), static_cast<long long>(o.steps));
  std::printf("Hessian eigenvalues at w*: %.4g .. %.4g; |w*| = %.4g\n\n", r.lambda_min,
              r.lambda_max, std::sqrt([&] {
                double s = 0;
                for (double v : r.optimum) s += v * v;
                return s;
              }()));
  // Distance against T.
  std::printf("E|w - w*|^2 against T (mean over chains); SGD = last iterate, avg = average\n");
  std::printf("%-16s %-5s", "format", "");
  for (const auto& rec : r.runs.front().stats.records)
    std::printf(" %10s", ("T=" + std::to_string(rec.steps)).c_str());
  std::printf(" %7s\n", "slope");
  for (const PrecisionRun& run : r.runs) {
    for (int which = 0; which < 2; ++which) {
      std::vector<double> t, y;
      std::printf("%-16s %-5s", run.format.c_str(), which == 0 ? "SGD" : "avg");
      for (const auto& rec : run.stats.records) {
        const double v = which == 0 ? rec.sq_dist_last : rec.sq_dist_average;
        t.push_back(double(rec.steps));
        y.push_back(v);
        std::printf(" %10s", number(v).c_str());
      }
      std::printf(" %7s\n", number(theory::log_log_slope(t, y), "%+.2f").c_str());
    }
  }
  std::printf("\nslope_vs_T (mean over the fixed point runs): SGD-LP %+.2f, SWALP %+.2f\n\n",
              r.slope_t_sgd_lp, r.slope_t_swalp);

  // Noise balls against delta.
  std::printf(
      "Noise balls: SGD = stationary E|w - w*|^2 over the averaging window; "
      "avg bias = |E[w_avg] - w*|^2 (debiased, +- 1 s.e.)\n");
  std::printf("%-16s %10s %12s %24s %14s\n", "format", "delta", "SGD ball", "avg bias",
              "avg at last T");
  std::vector<double> deltas, lp, swalp;
  for (const PrecisionRun& run : r.runs) {
    const auto& s = run.stats;
    std::printf("%-16s %10s %12s %24s %14s\n", run.format.c_str(),
                run.delta > 0 ? number(run.delta, "%.6g").c_str() : "-",
                number(s.stationary_ball).c_str(),
                (number(s.average_sq_bias) + " +- " + number(s.average_sq_bias_se, "%.1e")).c_str(),
                number(s.records.back().sq_dist_average).c_str());
    if (run.fractional_bits >= 0) {
      deltas.push_back(run.delta);
      lp.push_back(s.stationary_ball);
      swalp.push_back(s.average_sq_bias > 2 * s.average_sq_bias_se ? s.average_sq_bias : 0.0);
    }
  }
  std::printf("\nslope_vs_delta (asymptotic balls): SGD-LP %s, SWALP %s; SWALP at the last T: %s\n",
              number(r.slope_delta_sgd_lp, "%+.2f").c_str(),
              number(r.slope_delta_swalp, "%+.2f").c_str(),
              number(r.slope_delta_swalp_finite_t, "%+.2f").c_str());

  // Half the bits: fractional bits each method needs for a target ball, from the fitted laws.
  nlohmann::json half_bits = nlohmann::json::array();
  const FitLine fit_lp = fit(deltas, lp), fit_swalp = fit(deltas, swalp);
  if (r.objective == "strongly-convex" && !std::isnan(fit_lp.slope) &&
      !std::isnan(fit_swalp.slope) && fit_lp.slope > 0 && fit_swalp.slope > 0) {
    std::printf(
        "\nFractional bits for a noise ball <= target (fitted power laws; * = target "
        "inside that method's measured range)\n%12s %8s %8s\n",
        "target", "SGD-LP", "SWALP");
    const double top = fit_lp.hi, bottom = fit_swalp.lo;
    for (double target = std::pow(10.0, std::floor(std::log10(top)));
         target >= bottom / 10.0 && target > 0; target /= 10.0) {
      const int b_lp = bits_needed(fit_lp, target), b_swalp = bits_needed(fit_swalp, target);
      const bool in_lp = target >= fit_lp.lo && target <= fit_lp.hi;
      const bool in_swalp = target >= fit_swalp.lo && target <= fit_swalp.hi;
      std::printf("%12s %7d%s %7d%s\n", number(target, "%.0e").c_str(), b_lp, in_lp ? "*" : " ",
                  b_swalp, in_swalp ? "*" : " ");
      half_bits.push_back({{"target", target},
                           {"SGD-LP_fractional_bits", b_lp},
                           {"SWALP_fractional_bits", b_swalp},
                           {"SGD-LP_measured_range", in_lp},
                           {"SWALP_measured_range", in_swalp}});
    }
    // Measured, no fit: the shrink factors between the coarsest and the finest resolved gap.
    size_t first = deltas.size(), last = 0;
    for (size_t i = 0; i < deltas.size(); ++i)
      if (swalp[i] > 0) first = std::min(first, i), last = i;
    if (first < last) {
      const double bits = std::log2(deltas[first] / deltas[last]);
      std::printf(
          "measured over %.0f more fractional bits (delta %g -> %g): SGD-LP ball %.1fx "
          "smaller, SWALP ball %.1fx smaller\n",
          bits, deltas[first], deltas[last], lp[first] / lp[last], swalp[first] / swalp[last]);
    }
    std::printf("bits per 100x smaller ball: SGD-LP %.2f, SWALP %.2f\n",
                std::log2(100.0) / fit_lp.slope, std::log2(100.0) / fit_swalp.slope);
  }
  std::printf("%.1f s\n", r.seconds);
  if (!out.empty()) write_outputs(out, o, r, half_bits);
}

void add_experiment(CLI::App& parent, const std::string& name, theory::Objective objective,
                    const std::string& description) {
  struct Args {
    TheoryOptions options;
    std::string out;
    std::vector<int> fractional_bits;
  };
  static std::vector<std::unique_ptr<Args>> all_args;
  all_args.push_back(std::make_unique<Args>());
  Args& a = *all_args.back();
  a.options = defaults(objective);
  TheoryOptions& o = a.options;
  a.fractional_bits = o.fractional_bits;
  auto* cmd = parent.add_subcommand(name, description);
  cmd->add_option("--data", o.data, "synthetic | fashion-mnist")->capture_default_str();
  cmd->add_option("--n", o.synthetic.n, "Synthetic examples")->capture_default_str();
  cmd->add_option("--dim", o.synthetic.d, "Synthetic dimension")->capture_default_str();
  cmd->add_option("--condition", o.synthetic.condition,
                  "Ratio of the largest to the smallest feature variance")
      ->capture_default_str();
  cmd->add_option("--weight-scale", o.synthetic.weight_scale, "|w_true| of the synthetic data")
      ->capture_default_str();
  cmd->add_option("--l2", o.synthetic.l2, "L2 regularization (objective + l2/2 |w|^2)")
      ->capture_default_str();
  cmd->add_option("--classes", o.class_negative, "fashion-mnist: the -1 class")
      ->capture_default_str();
  cmd->add_option("--positive-class", o.class_positive, "fashion-mnist: the +1 class")
      ->capture_default_str();
  cmd->add_option("--pool", o.pool, "fashion-mnist: average over pool x pool pixel blocks")
      ->capture_default_str();
  cmd->add_option("--limit", o.limit, "fashion-mnist: at most this many examples (0 = all)");
  cmd->add_option("--lr", o.lr, "Constant step size alpha")->capture_default_str();
  cmd->add_option("--chains", o.chains, "Independent chains")->capture_default_str();
  cmd->add_option("--steps", o.steps, "Averaged steps T (the largest)")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Steps before averaging (-1: 10 / (lr * lambda_min))")
      ->capture_default_str();
  cmd->add_option("--points", o.points, "T values recorded")->capture_default_str();
  cmd->add_option("--decades", o.decades, "T values span steps / 10^decades .. steps")
      ->capture_default_str();
  cmd->add_option("--fractional-bits", a.fractional_bits,
                  "Fixed point gaps delta = 2^-FL, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--integer-bits", o.integer_bits, "Integer bits incl. sign (WL = this + FL)")
      ->capture_default_str();
  cmd->add_option("--formats", o.formats, "Further format spellings to run, comma-separated")
      ->delimiter(',');
  cmd->add_option("--seed", o.seed, "Seed")->capture_default_str();
  cmd->add_option("--out", a.out, "Directory for CSV, PNG and summary.json");
  cmd->callback([&a, objective] {
    a.options.fractional_bits = a.fractional_bits;
    for (const std::string& f : a.options.formats) make_quant_spec(f, "stochastic");
    ProgressLine progress;
    const TheoryResult r = theory::run_theory(
        objective, a.options,
        [&](const std::string& label, double fraction) { progress.draw(label, fraction); });
    progress.clear();
    print_and_write(a.options, r, a.out);
  });
}

}  // namespace

void register_theory(CLI::App& app) {
  auto* theory = app.add_subcommand("theory", "The SWALP convergence theorems by experiment");
  theory->require_subcommand(1);
  add_experiment(*theory, "quadratic", theory::Objective::kLeastSquares,
                 "Least squares: SWALP's distance to the optimum falls as 1/T at any delta");
  add_experiment(*theory, "strongly-convex", theory::Objective::kLogistic,
                 "L2-regularized logistic regression: noise balls O(delta) (SGD-LP) and "
                 "O(delta^2) (SWALP)");
}

}  // namespace swalp::cli
