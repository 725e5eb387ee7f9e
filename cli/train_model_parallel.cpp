#include "train_model_parallel.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "distributed/model_parallel.h"
#include "distributed/mpi_exchange.h"
#include "io/atomic_file.h"
#include "io/directory_lock.h"
#include "swalp/codec.h"
#include "swalp/error.h"
#include "train/threads.h"

namespace swalp::cli {

void run_model_parallel(TrainArgs& args, const std::string& dir) {
  if (args.data_parallel)
    throw InvalidInput("--model-parallel and --data-parallel cannot be combined; choose one");
  if (!args.format.empty())
    throw InvalidInput(
        "--model-parallel trains fp32 weights (only the exchanged activations and errors are "
        "compressed, by --act-codec); --format cannot be combined with it");
  if (args.act_codec != "fp32") codec_by_name(args.act_codec);  // names the accepted ones
  static std::unique_ptr<distributed::MpiSession> session;
  if (!session) session = std::make_unique<distributed::MpiSession>(nullptr, nullptr);
  const bool writer = session->rank() == 0;
  engine::configure_threads(args.threads);
  const engine::DataSplits data = engine::load_data(args.data, args.limit_train, args.limit_test);
  std::optional<io::DirectoryLock> lock;
  if (writer) {
    lock.emplace(dir);
    if (std::filesystem::exists(dir + "/summary.json"))
      throw InvalidInput("'" + dir + "' already holds a run (summary.json); use another --out");
  }
  distributed::ModelParallelOptions o;
  o.hidden = args.hidden;
  o.codec = args.act_codec;
  o.block = args.act_block;
  o.epochs = args.options.epochs;
  o.batch_size = args.options.batch_size;
  o.lr = args.options.lr_init;
  o.momentum = args.options.momentum;
  o.weight_decay = args.options.weight_decay;
  o.seed = args.options.seed;
  distributed::ModelParallelResult result;
  std::string csv = "epoch,train_loss,test_error,seconds\n";
  try {
    result = distributed::train_model_parallel(
        o, data.train, data.test, [&](const distributed::ModelParallelEpoch& e) {
          if (!writer) return;
          char row[128];
          std::snprintf(row, sizeof row, "%d,%.6f,%.2f,%.3f\n", e.epoch, e.train_loss, e.test_error,
                        e.seconds);
          csv += row;
          std::fprintf(stderr, "epoch %d: train loss %.4f, test error %.2f%%\n", e.epoch,
                       e.train_loss, e.test_error);
          io::write_file_atomic(dir + "/metrics.csv", csv);
        });
  } catch (const std::exception& e) {
    if (session->size() == 1) throw;
    std::fprintf(stderr, "swalp: error: %s\n", e.what());
    distributed::abort_all(dynamic_cast<const InvalidInput*>(&e) ? 2 : 1);
  }
  if (!writer) return;
  const double steps = double(std::max<int64_t>(1, result.steps));
  const nlohmann::json summary = {{"model", "mlp-split"},
                                  {"epochs", o.epochs},
                                  {"finished", true},
                                  {"test_error_sgd", result.epochs.back().test_error},
                                  {"model_parallel",
                                   {{"workers", result.workers},
                                    {"hidden", o.hidden},
                                    {"act_codec", o.codec},
                                    {"act_block", o.block},
                                    {"steps", result.steps},
                                    {"bytes_sent", result.bytes_sent},
                                    {"bytes_sent_per_step", double(result.bytes_sent) / steps},
                                    {"fp32_bytes_per_step", double(result.fp32_bytes) / steps}}}};
  io::write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
  std::printf(
      "%s: %d epochs, %d workers, %s activations and errors; test error %.2f%%, %.0f bytes "
      "sent per step (fp32: %.0f)\n",
      dir.c_str(), o.epochs, result.workers, o.codec.c_str(), result.epochs.back().test_error,
      double(result.bytes_sent) / steps, double(result.fp32_bytes) / steps);
}

}  // namespace swalp::cli
