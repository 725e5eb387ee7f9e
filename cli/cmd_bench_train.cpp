// `swalp bench train`: time per training step of a low-precision model next to the same model's
// FP32 step, measured in one run on the same batches.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "io/atomic_file.h"
#include "train/dataset.h"
#include "train/threads.h"
#include "train/trainer.h"

namespace swalp::cli {

namespace {
struct BenchTrainArgs {
  std::string model = "mlp", format = "bfp:8", rounding = "stochastic", device = "cpu", out;
  std::string matmul_accumulate;  // the low-precision step's products ("" = BLAS)
  int batch_size = 128, steps = 100, warmup = 10, threads = 0;
  bool json = false;
};

// Seconds per step, after `warmup` untimed steps, over `steps` steps cycling through the batches.
double seconds_per_step(const engine::TrainOptions& options, const engine::Dataset& data,
                        const BenchTrainArgs& args) {
  engine::TrainingState state(options);
  const int64_t batches = data.size() / args.batch_size;
  auto run = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const int64_t b = (state.steps() % batches) * args.batch_size;
      state.step(data.images.slice(0, b, b + args.batch_size),
                 data.labels.slice(0, b, b + args.batch_size), 0.01);
    }
  };
  run(args.warmup);
  const auto start = std::chrono::steady_clock::now();
  run(args.steps);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
         args.steps;
}
}  // namespace

void register_bench_train(CLI::App& bench) {
  static BenchTrainArgs args;
  auto* cmd =
      bench.add_subcommand("train", "Time a low-precision training step next to the FP32 step");
  cmd->add_option("--model", args.model, "logreg | mlp | cnn | vgg16 | preresnetD")
      ->capture_default_str();
  cmd->add_option("--format", args.format,
                  "Format at every site (activations, errors, weights, ...)")
      ->capture_default_str();
  cmd->add_option("--rounding", args.rounding, "Rounding mode")->capture_default_str();
  cmd->add_option("--matmul-accumulate", args.matmul_accumulate,
                  "Accumulation spec of the low-precision step's products (empty: BLAS)");
  cmd->add_option("--batch-size", args.batch_size, "Batch size")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--steps", args.steps, "Timed steps per precision")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--threads", args.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--device", args.device, "cpu | cuda | auto")->capture_default_str();
  cmd->add_option("--out", args.out, "Directory for summary.json");
  cmd->add_flag("--json", args.json, "Print one JSON object");
  cmd->callback([] {
    const at::Device device = engine::resolve_device(args.device);
    io::make_directories(args.out);  // a bad --out fails before the timings, not after them
    engine::configure_threads(args.threads);
    const engine::Dataset data = engine::make_synthetic_images(int64_t(args.batch_size) * 16, 11);
    engine::TrainOptions fp32;
    fp32.model = args.model;
    fp32.batch_size = args.batch_size;
    fp32.device = args.device;
    engine::TrainOptions low = fp32;
    low.quant = engine::QuantPlan::uniform(args.format, args.rounding);
    low.quant.matmul_accumulate = args.matmul_accumulate;
    // Interleave the two precisions, best of three, so that drift of the machine hits both.
    double fp32_s = 1e30, low_s = 1e30;
    for (int round = 0; round < 3; ++round) {
      fp32_s = std::min(fp32_s, seconds_per_step(fp32, data, args));
      low_s = std::min(low_s, seconds_per_step(low, data, args));
    }
    const nlohmann::json result = {{"model", args.model},
                                   {"format", args.format},
                                   {"rounding", args.rounding},
                                   {"matmul_accumulate", args.matmul_accumulate},
                                   {"batch_size", args.batch_size},
                                   {"device", device.str()},
                                   {"threads", at::get_num_threads()},
                                   {"fp32_ms_per_step", 1e3 * fp32_s},
                                   {"low_precision_ms_per_step", 1e3 * low_s},
                                   {"ratio", low_s / fp32_s}};
    if (args.json)
      std::printf("%s\n", result.dump().c_str());
    else
      std::printf(
          "%s, batch %d, %s, %d threads: FP32 %.2f ms/step, %s (%s, every site%s%s) %.2f "
          "ms/step: %.2fx\n",
          args.model.c_str(), args.batch_size, device.str().c_str(), at::get_num_threads(),
          1e3 * fp32_s, args.format.c_str(), args.rounding.c_str(),
          args.matmul_accumulate.empty() ? "" : ", sums ", args.matmul_accumulate.c_str(),
          1e3 * low_s, low_s / fp32_s);
    if (!args.out.empty()) io::write_file_atomic(args.out + "/summary.json", result.dump(2) + "\n");
  });
}

}  // namespace swalp::cli
