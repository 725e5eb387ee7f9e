// `swalp bench zipml`: seconds per SGD epoch with samples packed at each bit width (two copies,
// double sampling, in compact and independent storage) and naive one-copy sampling, next to the
// fp32 epoch in the same run.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "io/atomic_file.h"
#include "swalp/error.h"
#include "zipml/experiment.h"

namespace swalp::cli {

namespace {

struct BenchZipmlArgs {
  int64_t n = 65536, d = 256;
  int epochs = 3;
  std::vector<int> bits = {1, 2, 4, 8};
  std::string out;
  bool json = false;
};

// Fastest epoch of the run (packing the samples is not timed).
double best_epoch(const zipml::SgdResult& r) {
  double best = r.epochs.front().seconds;
  for (const auto& e : r.epochs) best = std::min(best, e.seconds);
  return best;
}

}  // namespace

void register_bench_zipml(CLI::App& bench) {
  static BenchZipmlArgs a;
  auto* cmd = bench.add_subcommand(
      "zipml", "Time an SGD epoch on packed low-bit samples next to the fp32 epoch");
  cmd->add_option("--n", a.n, "Examples")->capture_default_str()->check(CLI::Range(1, 1 << 26));
  cmd->add_option("--dim", a.d, "Features")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--epochs", a.epochs, "Epochs per run (the fastest counts)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--bits", a.bits, "Sample bit widths, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--out", a.out, "Directory for summary.json");
  cmd->add_flag("--json", a.json, "Print one JSON object");
  cmd->callback([] {
    io::make_directories(a.out);  // a bad --out fails before the timings, not after them
    const zipml::Dataset data = zipml::synthetic_regression(a.n, a.d, 0.1, 1);
    zipml::SgdOptions o;
    o.loss = zipml::Loss::kLeastSquares;
    o.epochs = a.epochs;
    o.lr = 1e-4;
    o.method = zipml::Method::kFull;
    const zipml::SgdResult full = zipml::train_linear(data, o);
    const double fp32_s = best_epoch(full);
    nlohmann::json rows = nlohmann::json::array();
    if (!a.json)
      std::printf(
          "SGD epoch, least squares, n=%lld, d=%lld, one thread; fp32 samples %.1f MB: "
          "%.4f s\n%-6s %-8s %-12s %12s %10s %10s\n",
          static_cast<long long>(a.n), static_cast<long long>(a.d), full.sample_bytes / 1e6, fp32_s,
          "bits", "method", "storage", "samples MB", "epoch s", "vs fp32");
    const std::pair<zipml::Method, zipml::Storage> runs[] = {
        {zipml::Method::kDoubleSampling, zipml::Storage::kCompact},
        {zipml::Method::kDoubleSampling, zipml::Storage::kIndependent},
        {zipml::Method::kNaive, zipml::Storage::kIndependent}};
    for (int b : a.bits)
      for (const auto& [method, storage] : runs) {
        o.method = method;
        o.storage = storage;
        o.sample_bits = b;
        const zipml::SgdResult r = zipml::train_linear(data, o);
        const double s = best_epoch(r);
        rows.push_back({{"bits", b},
                        {"method", zipml::method_name(method)},
                        {"storage", zipml::storage_name(storage)},
                        {"sample_bytes", r.sample_bytes},
                        {"epoch_seconds", s},
                        {"speedup_vs_fp32", fp32_s / s}});
        if (!a.json)
          std::printf("%-6d %-8s %-12s %12.1f %10.4f %9.2fx\n", b,
                      zipml::method_name(method).c_str(), zipml::storage_name(storage).c_str(),
                      r.sample_bytes / 1e6, s, fp32_s / s);
      }
    const nlohmann::json summary = {{"n", a.n},
                                    {"d", a.d},
                                    {"fp32_epoch_seconds", fp32_s},
                                    {"fp32_sample_bytes", full.sample_bytes},
                                    {"runs", rows}};
    if (a.json) std::printf("%s\n", summary.dump().c_str());
    if (!a.out.empty()) io::write_file_atomic(a.out + "/summary.json", summary.dump(2) + "\n");
  });
}

}  // namespace swalp::cli
