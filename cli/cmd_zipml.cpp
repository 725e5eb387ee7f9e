// `swalp zipml`: ZipML's low-precision linear models (naive sampling, double sampling, end to
// end, optimal levels) at several sample bit widths; `swalp bench zipml`: epoch time per width.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "io/atomic_file.h"
#include "plot.h"
#include "progress_line.h"
#include "strict_numbers.h"
#include "swalp/error.h"
#include "zipml/experiment.h"

namespace swalp::cli {

namespace {

struct ZipmlArgs {
  zipml::ZipmlOptions options;
  std::string loss = "least-squares", out, storage = "compact", refetch_bound = "worst";
  std::vector<int> bits = {1, 2, 3, 4, 6, 8};
};

void write_outputs(const std::string& dir, const ZipmlArgs& a, const zipml::ZipmlResult& r) {
  std::filesystem::create_directories(dir);
  std::string curves = "method,bits,epoch,loss,seconds,bytes_read\n";
  auto add_curve = [&](const std::string& method, int bits, const zipml::SgdResult& s) {
    for (const auto& e : s.epochs) {
      char row[200];
      std::snprintf(row, sizeof row, "%s,%d,%d,%.9e,%.4f,%lld\n", method.c_str(), bits, e.epoch,
                    e.loss, e.seconds, static_cast<long long>(e.bytes_read));
      curves += row;
    }
  };
  add_curve("fp32", 32, r.full);
  std::string finals = "method,bits,final_loss,sample_bytes,refetch_fraction\n";
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& run : r.runs) {
    add_curve(run.method, run.bits, run.result);
    char row[200];
    std::snprintf(row, sizeof row, "%s,%d,%.9e,%lld,%.4f\n", run.method.c_str(), run.bits,
                  run.result.final_loss, static_cast<long long>(run.result.sample_bytes),
                  run.result.refetch_fraction);
    finals += row;
    runs.push_back({{"method", run.method},
                    {"bits", run.bits},
                    {"final_loss", run.diverged ? nlohmann::json(nullptr)
                                                : nlohmann::json(run.result.final_loss)},
                    {"diverged", run.diverged},
                    {"sample_bytes", run.result.sample_bytes},
                    {"bits_read_per_value", run.bits_read_per_value},
                    {"refetch_fraction", run.result.refetch_fraction}});
  }
  io::write_file_atomic(dir + "/curves.csv", curves);
  io::write_file_atomic(dir + "/final_loss.csv", finals);
  nlohmann::json bias = nlohmann::json::array();
  for (const auto& b : r.bias)
    bias.push_back({{"bits", b.bits}, {"naive", b.naive}, {"double", b.double_sampling}});
  const nlohmann::json summary = {
      {"data", r.description},
      {"loss", a.loss},
      {"epochs", a.options.sgd.epochs},
      {"lr", a.options.sgd.lr},
      {"storage", a.storage},
      {"refetch_bound", a.refetch_bound},
      {"refetch_failure", a.options.sgd.refetch_failure},
      {"chebyshev_range", a.options.sgd.chebyshev_range},
      {"fp32_final_loss", r.full.final_loss},
      {"runs", runs},
      {"gradient_bias", bias},
      {"gradient_spread", r.bias_scale},
      {"bits_to_fp32_loss", {{"uniform", r.bits_uniform}, {"optimal", r.bits_optimal}}},
      {"optimal_equivalent_uniform_bits",
       [&] {
         nlohmann::json rows = nlohmann::json::array();
         for (const auto& e : r.equivalent_bits)
           rows.push_back({{"bits", e.bits}, {"uniform_bits", e.uniform_bits}, {"ratio", e.ratio}});
         return rows;
       }()},
      {"tolerance", a.options.tolerance},
      {"seconds", r.seconds}};
  io::write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
  // One line per method, each selected by grep so that the lines are not broken.
  const int curve_bits = 4;
  const char* methods[] = {"naive", "double", "end-to-end", "double-optimal"};
  std::string script =
      "set terminal pngcairo size 1000,650 noenhanced\nset datafile separator ','\n"
      "set grid\nset key outside right\nset logscale y\n"
      "set output 'loss_vs_epoch.png'\nset xlabel 'epoch'\nset ylabel 'training loss'\n"
      "set title 'Training loss, " +
      std::to_string(curve_bits) +
      "-bit samples'\n"
      "plot '< grep ^fp32, curves.csv' using 3:4 with linespoints title 'fp32'";
  for (const char* m : methods)
    script += std::string(", '< grep ^") + m + "," + std::to_string(curve_bits) +
              ", curves.csv' using 3:4 with linespoints title '" + m + "'";
  script +=
      "\nset output 'loss_vs_bits.png'\nset xlabel 'bits per sample component'\n"
      "set title 'Final training loss against sample bits'\nplot ";
  for (const char* m : methods)
    script += std::string("'< grep ^") + m +
              ", final_loss.csv' using 2:3 with linespoints title '" + m + "', ";
  char fp[64];
  std::snprintf(fp, sizeof fp, "%.9e title 'fp32' dt 2\n", r.full.final_loss);
  script += fp;
  std::string why;
  if (!run_gnuplot(dir, script, why)) std::fprintf(stderr, "swalp: no plots: %s\n", why.c_str());
}

void print(const ZipmlArgs& a, const zipml::ZipmlResult& r) {
  std::printf("swalp zipml: %s, %s, %d epochs, lr %g (decay %g per epoch)\n", r.description.c_str(),
              a.loss.c_str(), a.options.sgd.epochs, a.options.sgd.lr, a.options.sgd.lr_decay);
  std::printf("final training loss (fp32: %.6e)\n%-6s", r.full.final_loss, "bits");
  const char* methods[] = {"naive", "double", "end-to-end", "double-optimal"};
  for (const char* m : methods) std::printf(" %16s", m);
  std::printf("\n");
  for (int b : a.options.bits) {
    std::printf("%-6d", b);
    for (const char* m : methods)
      for (const auto& run : r.runs)
        if (run.bits == b && run.method == m) {
          char cell[40] = "diverged";
          if (!run.diverged)
            std::snprintf(cell, sizeof cell, "%.4e (%+.1f%%)", run.result.final_loss,
                          100 * (run.result.final_loss / r.full.final_loss - 1));
          std::printf(" %22s", cell);
        }
    std::printf("\n");
  }
  std::printf("\ndouble sampling, %s storage: bits read per value and epoch (fp32: 32)",
              a.storage.c_str());
  const bool refetching = a.loss == "hinge" || a.loss == "logistic";
  if (refetching)
    std::printf("; steps refetching the fp32 sample (%s bound)", a.refetch_bound.c_str());
  std::printf("\n");
  for (const auto& run : r.runs)
    if (run.method == "double" && !run.diverged) {
      std::printf("%d bits: %.2f bits read", run.bits, run.bits_read_per_value);
      if (refetching)
        std::printf(", %s refetches %.2f%%", a.loss.c_str(), 100 * run.result.refetch_fraction);
      std::printf("\n");
    }
  if (!r.bias.empty()) {
    std::printf(
        "\ngradient bias |E[g] - grad f| at the fp32 solution (%d quantizations; "
        "per-example gradient RMS %.3e)\n%-6s %12s %12s\n",
        a.options.bias_draws, r.bias_scale, "bits", "naive", "double");
    for (const auto& b : r.bias)
      std::printf("%-6d %12.4e %12.4e\n", b.bits, b.naive, b.double_sampling);
  }
  for (const auto& e : r.equivalent_bits)
    std::printf(
        "optimal levels at %d bits reach the loss of uniform levels at %.2f bits: %.2fx "
        "fewer bits\n",
        e.bits, e.uniform_bits, e.ratio);
  auto bits_text = [](int b) { return b > 0 ? std::to_string(b) : std::string("none tried"); };
  std::printf(
      "\nfewest bits reaching the fp32 loss within %.1f%% (double sampling): uniform "
      "levels %s, optimal levels %s\n%.1f s\n",
      100 * a.options.tolerance, bits_text(r.bits_uniform).c_str(),
      bits_text(r.bits_optimal).c_str(), r.seconds);
}

}  // namespace

void register_zipml(CLI::App& app) {
  static ZipmlArgs a;
  zipml::ZipmlOptions& o = a.options;
  o.sgd.epochs = 10;
  o.sgd.lr = 0.002;
  o.sgd.lr_decay = 0.7;
  auto* cmd = app.add_subcommand(
      "zipml", "ZipML: low-precision linear models, double sampling, optimal levels");
  cmd->add_option("--data", o.data,
                  "synthetic | fashion-mnist | libsvm:FILE (sparse or dense LIBSVM text)")
      ->capture_default_str();
  cmd->add_option("--loss", a.loss, "least-squares | ls-svm | logistic | hinge")
      ->capture_default_str();
  cmd->add_option("--bits", a.bits, "Sample bit widths (1..8), comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--epochs", o.sgd.epochs, "Epochs")->capture_default_str();
  cmd->add_option("--lr", o.sgd.lr, "Step size")->capture_default_str();
  cmd->add_option("--lr-decay", o.sgd.lr_decay, "Step size factor per epoch")
      ->capture_default_str();
  cmd->add_option("--l2", o.sgd.l2, "L2 regularization (ls-svm, logistic, hinge)")
      ->capture_default_str();
  cmd->add_option("--model-bits", o.sgd.model_bits, "End to end: model bits (int:B, 2..8)")
      ->capture_default_str()
      ->check(CLI::Range(2, 8));
  cmd->add_option("--grad-bits", o.sgd.grad_bits, "End to end: gradient bits (int:B, 2..8)")
      ->capture_default_str()
      ->check(CLI::Range(2, 8));
  cmd->add_option("--chebyshev-degree", o.sgd.chebyshev_degree,
                  "Logistic: polynomial degree (copies = degree + 2: the direction, one per "
                  "power, one that decides whether to refetch)")
      ->capture_default_str();
  cmd->add_option("--chebyshev-range", o.sgd.chebyshev_range,
                  "Logistic: the polynomial is fitted on [-R, R]; a margin that may lie outside "
                  "is computed from the refetched fp32 sample")
      ->capture_default_str()
      ->check(greater_than(0));
  cmd->add_option("--storage", a.storage,
                  "Quantized copies: compact (one interval + a bit per copy) | independent")
      ->capture_default_str();
  cmd->add_option("--refetch-bound", a.refetch_bound,
                  "Hinge/logistic refetch decisions: worst (never wrong) | hoeffding")
      ->capture_default_str();
  cmd->add_option("--refetch-failure", o.sgd.refetch_failure,
                  "Hoeffding bound: probability that a decision misses a true margin")
      ->capture_default_str()
      ->check(greater_than(0));
  cmd->add_option("--n", o.n, "Synthetic examples")->capture_default_str();
  cmd->add_option("--dim", o.d, "Synthetic dimension")->capture_default_str();
  cmd->add_option("--noise", o.noise, "Synthetic target noise")->capture_default_str();
  cmd->add_option("--classes", o.class_negative, "Fashion-MNIST: the -1 class")
      ->capture_default_str();
  cmd->add_option("--positive-class", o.class_positive, "Fashion-MNIST: the +1 class")
      ->capture_default_str();
  cmd->add_option("--limit", o.limit, "Fashion-MNIST: at most this many examples (0 = all)");
  cmd->add_option("--tolerance", o.tolerance, "Relative loss counted as reaching fp32")
      ->capture_default_str();
  cmd->add_option("--seed", o.sgd.seed, "Seed")->capture_default_str();
  cmd->add_option("--out", a.out, "Directory for CSV, PNG and summary.json");
  cmd->callback([] {
    a.options.sgd.loss = zipml::parse_loss(a.loss);
    a.options.sgd.storage = zipml::parse_storage(a.storage);
    a.options.sgd.refetch_bound = zipml::parse_refetch_bound(a.refetch_bound);
    if (!(a.options.sgd.refetch_failure < 1))
      throw InvalidInput("--refetch-failure " + std::to_string(a.options.sgd.refetch_failure) +
                         " must be below 1 (a probability)");
    a.options.bits = a.bits;
    ProgressLine progress;
    const zipml::ZipmlResult r = zipml::run_zipml(
        a.options, [&](const std::string& label, double f) { progress.draw(label, f); });
    progress.clear();
    print(a, r);
    if (!a.out.empty()) write_outputs(a.out, a, r);
  });
}

}  // namespace swalp::cli
