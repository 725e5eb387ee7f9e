// `swalp accumulate`: the error of rounded sums against their length K, per accumulator,
// rounding mode and data distribution. Prints a table, writes accumulate.csv, summary.json
// (with the fitted log-log slopes) and accumulate.png under --out.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "accumulation/experiment.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "plot.h"
#include "swalp/error.h"

namespace swalp::cli {

namespace {

struct AccumulateArgs {
  accumulation::Options options;
  std::vector<std::string> data = {"normal", "uniform", "positive"};
  std::string out = "results/accumulate";
};

accumulation::Data parse_data(const std::string& name) {
  for (auto d :
       {accumulation::Data::kNormal, accumulation::Data::kUniform, accumulation::Data::kPositive})
    if (name == accumulation::data_name(d)) return d;
  throw InvalidInput("bad --data '" + name + "'; accepted: normal, uniform, positive");
}

void write_results(const AccumulateArgs& a, const accumulation::Result& r) {
  // Rows series by series (one fit each), K ascending, so that the plot draws each as a line.
  std::string csv = "kind,accumulator,rounding,data,k,mean_error,max_error\n";
  std::vector<accumulation::Point> ordered;
  for (const auto& f : r.fits)
    for (const auto& p : r.points)
      if (p.kind == f.kind && p.accumulator == f.accumulator && p.rounding == f.rounding &&
          p.data == f.data)
        ordered.push_back(p);
  for (const auto& p : ordered) {
    char row[512];
    std::snprintf(row, sizeof row, "%s,%s,%s,%s,%llu,%.6e,%.6e\n", p.kind.c_str(),
                  p.accumulator.c_str(), p.rounding.c_str(), p.data.c_str(),
                  (unsigned long long)p.k, p.mean_error, p.max_error);
    csv += row;
  }
  io::write_file_atomic(a.out + "/accumulate.csv", csv);
  nlohmann::json slopes = {{"dot", nlohmann::json::object()}, {"matmul", nlohmann::json::object()}};
  for (const auto& f : r.fits)
    slopes[f.kind][f.accumulator + "/" + f.rounding + "/" + f.data] =
        std::isnan(f.slope) ? nlohmann::json(nullptr) : nlohmann::json(f.slope);
  const nlohmann::json summary = {
      {"experiment", "accumulate"},
      {"error",
       "normwise: |s_hat - s| / sum |x_i y_i| (dot), ||C_hat - C||_F / |||A||B|||_F "
       "(matmul), s and C in double"},
      {"k_range", {1ull << a.options.min_log2_k, 1ull << a.options.max_log2_k}},
      {"trials", a.options.trials},
      {"matrix_size", a.options.matrix_size},
      {"seed", a.options.seed},
      {"accumulators", a.options.accumulators},
      {"roundings", a.options.roundings},
      {"data", a.data},
      {"slopes", slopes}};
  io::write_file_atomic(a.out + "/summary.json", summary.dump(2) + "\n");

  // Dot products, one panel per data distribution; K and sqrt(K) lines through the panel's
  // smallest first-K error, for reference.
  std::string script =
      "set terminal pngcairo size 1500,650 noenhanced\nset output 'accumulate.png'\n"
      "set datafile separator ','\nset logscale xy\nset format y '%.0e'\nset grid\n"
      "set key below font ',8'\nset xlabel 'K (terms)'\n"
      "set multiplot layout 1," +
      std::to_string(a.data.size()) + "\n";
  for (const std::string& data : a.data) {
    double e0 = 0;
    const double k0 = double(1ull << a.options.min_log2_k);
    for (const auto& p : r.points)
      if (p.kind == "dot" && p.data == data && p.k == uint64_t(k0) && p.mean_error > 0)
        e0 = e0 == 0 ? p.mean_error : std::min(e0, p.mean_error);
    if (e0 == 0) e0 = 1e-8;
    script += "set title 'dot products, " + data + " data'\nset ylabel 'normwise error'\nplot ";
    bool first = true;
    for (const auto& f : r.fits) {
      if (f.kind != "dot" || f.data != data) continue;
      char clause[512];
      std::snprintf(clause, sizeof clause,
                    "%s'accumulate.csv' using ((strcol(1) eq 'dot' && strcol(2) eq '%s' && "
                    "strcol(3) eq '%s' && strcol(4) eq '%s') ? $5 : NaN):6 with linespoints "
                    "title '%s %s (slope %.2f)'",
                    first ? "" : ", ", f.accumulator.c_str(), f.rounding.c_str(), data.c_str(),
                    f.accumulator.c_str(), f.rounding.c_str(), f.slope);
      script += clause;
      first = false;
    }
    char refs[256];
    std::snprintf(refs, sizeof refs,
                  ", %.6e * x / %g with lines dt 2 lc 'black' title 'K', %.6e * sqrt(x / %g) with "
                  "lines dt 3 lc 'black' title 'sqrt(K)'\n",
                  e0, k0, e0, k0);
    script += refs;
  }
  script += "unset multiplot\n";
  std::string why;
  if (!run_gnuplot(a.out, script, why)) std::fprintf(stderr, "swalp: no plot: %s\n", why.c_str());
}

}  // namespace

void register_accumulate(CLI::App& app) {
  static AccumulateArgs a;
  auto* cmd = app.add_subcommand(
      "accumulate", "Error of rounded sums against their length, per accumulator and rounding");
  cmd->add_option("--accumulators", a.options.accumulators,
                  "Accumulation specs without rounding, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--roundings", a.options.roundings, "Rounding modes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--data", a.data, "normal, uniform, positive (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--min-log2-k", a.options.min_log2_k, "Shortest sum: 2^this terms")
      ->capture_default_str()
      ->check(CLI::Range(0, 24));
  cmd->add_option("--max-log2-k", a.options.max_log2_k, "Longest sum: 2^this terms")
      ->capture_default_str()
      ->check(CLI::Range(0, 24));
  cmd->add_option("--trials", a.options.trials, "Dot products per point")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--matrix-size", a.options.matrix_size,
                  "Matrix products: size x K times K x size")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--seed", a.options.seed, "Data and rounding seed")->capture_default_str();
  cmd->add_option("--out", a.out, "Directory for accumulate.csv, summary.json, accumulate.png")
      ->capture_default_str();
  cmd->callback([] {
    a.options.data.clear();
    for (const std::string& d : a.data) a.options.data.push_back(parse_data(d));
    // A bad --out fails before the run, not after it; an empty one would put the files in /.
    if (a.out.empty())
      throw InvalidInput(
          "--out: an empty directory name; give a directory such as results/accumulate");
    io::make_directories(a.out);
    std::printf("%-8s %-36s %-12s %-9s %8s %12s %12s\n", "kind", "accumulator", "rounding", "data",
                "K", "mean error", "max error");
    const accumulation::Result r = accumulation::run(a.options, [](const accumulation::Point& p) {
      std::printf("%-8s %-36s %-12s %-9s %8llu %12.4e %12.4e\n", p.kind.c_str(),
                  p.accumulator.c_str(), p.rounding.c_str(), p.data.c_str(),
                  (unsigned long long)p.k, p.mean_error, p.max_error);
      std::fflush(stdout);
    });
    std::printf("\nlog-log slopes of the mean error against K:\n");
    for (const auto& f : r.fits)
      std::printf("  %-6s %-36s %-12s %-9s %6.2f\n", f.kind.c_str(), f.accumulator.c_str(),
                  f.rounding.c_str(), f.data.c_str(), f.slope);
    write_results(a, r);
    std::printf("wrote %s/accumulate.csv, summary.json, accumulate.png\n", a.out.c_str());
  });
}

}  // namespace swalp::cli
