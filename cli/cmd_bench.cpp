// `swalp bench quantize`: quantizer throughput next to a same-run memory copy.
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "io/atomic_file.h"
#include "quantize_timing.h"
#include "swalp/error.h"
#include "swalp/text.h"
#ifdef SWALP_HAVE_CUDA
#include "quantize_timing_cuda.h"
#endif

namespace swalp::cli {

namespace {
struct BenchArgs {
  std::string format, rounding = "nearest", device = "cpu", out;
  size_t n = size_t(1) << 26;
  int threads = 0, repetitions = 5;
  bool json = false;
};
BenchArgs args;  // filled by CLI11 when `bench quantize` runs

// The spellings a --format or --rounding value stands for ("all": every one benchmarked).
bool is_all(const std::string& text) {  // spelled in any case, as format names are
  return ascii_lower(text) == "all";
}
std::vector<std::string> formats_of(const std::string& format) {
  return is_all(format) ? bench::bench_format_spellings() : std::vector<std::string>{format};
}
std::vector<std::string> roundings_of(const std::string& rounding) {
  if (!is_all(rounding)) return {rounding};
  std::vector<std::string> names;
  for (Rounding r : all_roundings()) names.emplace_back(rounding_name(r));
  return names;
}

bench::QuantizeTiming time_on_device(const QuantSpec& spec) {
  if (args.device == "cuda") {
#ifdef SWALP_HAVE_CUDA
    return bench::time_quantize_cuda(spec, args.n, args.repetitions);
#else
    throw InvalidInput(
        "--device cuda: this build of swalp has no CUDA kernels (configure with "
        "-DSWALP_CUDA=ON); accepted: cpu");
#endif
  }
  return bench::time_quantize(spec, args.n, args.threads, args.repetitions);
}
}  // namespace

CLI::App& register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  register_bench_zipml(*bench);
  register_bench_matmul(*bench);
  auto* cmd = bench->add_subcommand("quantize",
                                    "Time the quantizer next to a memory copy of the same array");
  cmd->add_option("--format", args.format, "Format spelling, or all (every benchmarked format)")
      ->required();
  cmd->add_option("--rounding", args.rounding, "Rounding mode, or all")->capture_default_str();
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
    if (args.device != "cpu" && args.device != "cuda")
      throw InvalidInput("bad --device '" + args.device + "'; accepted: cpu, cuda");
    // Every spelling is checked before the first timing.
    std::vector<QuantSpec> specs;
    for (const std::string& format : formats_of(args.format))
      for (const std::string& rounding : roundings_of(args.rounding))
        specs.push_back(make_quant_spec(format, rounding, 1));
    io::make_directories(args.out);  // a bad --out fails before the timings, not after them
    nlohmann::json all = nlohmann::json::array();
    for (const QuantSpec& spec : specs) {
      const auto t = time_on_device(spec);
      if (args.json)
        std::printf("%s\n", t.json().c_str());
      else if (t.device == "cuda")
        std::printf(
            "%s %s on %zu values, cuda: %.3f Gelem/s (%.1f GB/s read + write); device copy "
            "%.3f Gelem/s (%.0f%% of copy)\n",
            t.format.c_str(), t.rounding.c_str(), t.n, t.gelem_s, t.gelem_s * 8, t.copy_gelem_s,
            100 * t.ratio());
      else
        std::printf(
            "%s %s on %zu values, %d threads: %.3f Gelem/s; memory copy %.3f Gelem/s (%.0f%% of "
            "copy)\n",
            t.format.c_str(), t.rounding.c_str(), t.n, t.threads, t.gelem_s, t.copy_gelem_s,
            100 * t.ratio());
      std::fflush(stdout);
      all.push_back(nlohmann::json::parse(t.json()));
    }
    if (!args.out.empty())
      io::write_file_atomic(args.out + "/summary.json",
                            (all.size() == 1 ? all[0] : all).dump(2) + "\n");
  });
  return *bench;
}

}  // namespace swalp::cli
