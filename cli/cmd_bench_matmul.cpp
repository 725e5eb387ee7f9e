// `swalp bench matmul`: GFLOP/s of the rounded-accumulation product next to the BLAS sgemm of the
// same matrices, same threads, same run.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "io/atomic_file.h"
#include "matmul_timing.h"
#include "swalp/error.h"
#include "swalp/matmul.h"

namespace swalp::cli {

namespace {

struct BenchMatmulArgs {
  std::vector<std::string> accumulate = {"fp16", "bf16", "fp16:rounding=stochastic",
                                         "bf16:rounding=stochastic"};
  std::string shape = "square";
  int threads = 0, repetitions = 3;
  std::string out;
  bool json = false;
};

struct Shape {
  size_t m, n, k;
};

// square: M = N = K = 1024; conv: a 3x3 convolution 64 -> 64 channels on a 32x32 image as its
// im2col product (weights 64 x 576 times columns 576 x 1024); or MxNxK.
Shape parse_shape(const std::string& text) {
  if (text == "square") return {1024, 1024, 1024};
  if (text == "conv") return {64, 1024, 576};
  size_t m = 0, n = 0, k = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%zux%zux%zu%c", &m, &n, &k, &tail) == 3 && m >= 1 && n >= 1 &&
      k >= 1 && m <= 65536 && n <= 65536 && k <= 65536)
    return {m, n, k};
  throw InvalidInput("bad --shape '" + text +
                     "'; accepted: square (1024^3), conv (64x1024x576), MxNxK with each in "
                     "1..65536");
}

}  // namespace

void register_bench_matmul(CLI::App& bench) {
  static BenchMatmulArgs a;
  auto* cmd = bench.add_subcommand(
      "matmul", "Time products with a rounded accumulator next to the BLAS sgemm, same run");
  cmd->add_option("--accumulate", a.accumulate,
                  "Accumulation specs, comma-separated (ACC[:chunk=C][:outer=F][:order=O]"
                  "[:product=F][:rounding=R])")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--shape", a.shape, "square, conv or MxNxK")->capture_default_str();
  cmd->add_option("--threads", a.threads, "Threads for both (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--repetitions", a.repetitions, "Best of this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--out", a.out, "Directory for summary.json");
  cmd->add_flag("--json", a.json, "Print one JSON object per spec");
  cmd->callback([] {
    const Shape shape = parse_shape(a.shape);
    std::vector<AccumulateSpec> specs;  // every spelling checked before the first timing
    for (const std::string& spelling : a.accumulate) specs.push_back(parse_accumulate(spelling, 1));
    io::make_directories(a.out);  // a bad --out fails before the timings, not after them
    const int threads = bench::use_threads(a.threads);
    const bench::MatmulInputs inputs(shape.m, shape.n, shape.k);
    std::vector<bench::MatmulTiming> timings;
    for (const AccumulateSpec& spec : specs) {
      bench::MatmulTiming t;
      t.accumulate = spec.spelling, t.shape = a.shape, t.blas = bench::blas_name();
      t.m = shape.m, t.n = shape.n, t.k = shape.k, t.threads = threads;
      t.gflops = bench::time_matmul_gflops(spec, inputs, a.repetitions);
      timings.push_back(t);
    }
    const double sgemm = bench::time_sgemm_gflops(inputs, a.repetitions);
    nlohmann::json rows = nlohmann::json::array();
    for (bench::MatmulTiming& t : timings) {
      t.sgemm_gflops = sgemm;
      if (a.json)
        std::printf("%s\n", t.json().c_str());
      else
        std::printf(
            "%s, %zux%zux%zu (MxNxK), %d threads: %.3f GFLOP/s; sgemm %.2f GFLOP/s "
            "(%.2f%% of sgemm)\n",
            t.accumulate.c_str(), t.m, t.n, t.k, t.threads, t.gflops, t.sgemm_gflops,
            100 * t.ratio());
      rows.push_back(nlohmann::json::parse(t.json()));
    }
    if (!a.json) std::printf("BLAS: %s\n", bench::blas_name().c_str());
    if (!a.out.empty()) io::write_file_atomic(a.out + "/summary.json", rows.dump(2) + "\n");
  });
}

}  // namespace swalp::cli
