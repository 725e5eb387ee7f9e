// `swalp bench quantize`: quantizer throughput next to a same-run memory copy.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "io/atomic_file.h"
#include "quantize_timing.h"
#include "swalp/error.h"

namespace swalp::cli {

namespace {
struct BenchArgs {
  std::string format, rounding = "nearest", device = "cpu", out;
  size_t n = size_t(1) << 26;
  int threads = 0, repetitions = 5;
  bool json = false;
};
}  // namespace

void register_bench(CLI::App& app) {
  static BenchArgs args;
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  register_bench_train(*bench);
  register_bench_zipml(*bench);
  register_bench_comm(*bench);
  auto* cmd = bench->add_subcommand("quantize",
                                    "Time the quantizer next to a memory copy of the same array");
  cmd->add_option("--format", args.format, "Format spelling")->required();
  cmd->add_option("--rounding", args.rounding, "Rounding mode")->capture_default_str();
  cmd->add_option("--n", args.n, "Number of float32 values")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 34));
  cmd->add_option("--threads", args.threads, "Threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--repetitions", args.repetitions, "Best of this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--device", args.device, "cpu | cuda")->capture_default_str();
  cmd->add_option("--out", args.out, "Directory for summary.json");
  cmd->add_flag("--json", args.json, "Print one JSON object");
  cmd->callback([] {
    const QuantSpec spec = make_quant_spec(args.format, args.rounding, 1);
    if (args.device == "cuda")
      throw InvalidInput("--device cuda: this build of swalp has no CUDA kernels; accepted: cpu");
    if (args.device != "cpu")
      throw InvalidInput("bad --device '" + args.device + "'; accepted: cpu, cuda");
    const auto t = bench::time_quantize(spec, args.n, args.threads, args.repetitions);
    if (args.json)
      std::printf("%s\n", t.json().c_str());
    else
      std::printf(
          "%s %s on %zu values, %d threads: %.3f Gelem/s; memory copy %.3f Gelem/s (%.0f%% of "
          "copy)\n",
          t.format.c_str(), t.rounding.c_str(), t.n, t.threads, t.gelem_s, t.copy_gelem_s,
          100 * t.ratio());
    if (!args.out.empty())
      io::write_file_atomic(args.out + "/summary.json",
                            nlohmann::json::parse(t.json()).dump(2) + "\n");
  });
}

}  // namespace swalp::cli
