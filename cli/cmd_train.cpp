// `swalp train`: one training run from a TOML config and/or flags, into a run directory holding
// config.toml (resolved), checkpoint.pt (after every epoch), metrics.csv and summary.json.
// `--resume DIR` continues a run bit for bit from its checkpoint.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>
#include <variant>

#include "commands.h"
#include "io/atomic_file.h"
#include "io/directory_lock.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "train/metrics.h"
#include "train/models.h"
#include "train/threads.h"
#include "train/trainer.h"
#include "train_config.h"
#include "training_progress.h"
#ifdef SWALP_HAVE_MPI
#include "distributed/mpi_exchange.h"
#include "train_model_parallel.h"
#endif

namespace swalp::cli {

namespace {

std::string metrics_csv(const std::vector<engine::EpochMetrics>& epochs) {
  std::string csv = engine::metrics_csv_header() + "\n";
  for (const auto& m : epochs) csv += engine::metrics_csv_row(m) + "\n";
  return csv;
}

#ifdef SWALP_HAVE_MPI
std::unique_ptr<distributed::MpiSession> mpi_session;
#endif

// Starts MPI and the gradient exchange when asked; returns whether this process writes.
bool start_data_parallel(TrainArgs& args) {
  if (!args.data_parallel) {
    if (args.grad_codec != "fp32" || args.error_feedback || args.grad_exchange != "all-gather")
      throw InvalidInput("--grad-codec, --grad-exchange and --error-feedback need --data-parallel");
    return true;
  }
  if (args.grad_exchange != "all-gather" && args.grad_codec == "fp32")
    throw InvalidInput("--grad-exchange " + args.grad_exchange +
                       " needs an 8-bit --grad-codec (fp32 gradients travel by MPI's allreduce)");
#ifdef SWALP_HAVE_MPI
  if (!mpi_session) mpi_session = std::make_unique<distributed::MpiSession>(nullptr, nullptr);
  distributed::ExchangeOptions options;
  options.codec = args.grad_codec;
  options.error_feedback = args.error_feedback;
  options.block = args.grad_block;
  options.exchange = args.grad_exchange;
  args.options.exchange = distributed::make_mpi_exchange(options);
  return args.options.exchange->rank() == 0;
#else
  throw InvalidInput(
      "--data-parallel needs MPI, and this build has none: install libopenmpi-dev and "
      "openmpi-bin (Debian) and rebuild");
#endif
}

[[noreturn]] void abort_data_parallel(int code) {
#ifdef SWALP_HAVE_MPI
  distributed::abort_all(code);
#else
  std::exit(code);
#endif
}

nlohmann::json data_parallel_summary(const TrainArgs& args, const engine::TrainResult& result) {
  if (!args.options.exchange) return nullptr;
  const uint64_t bytes = args.options.exchange->bytes_sent();
  return {{"workers", args.options.exchange->size()},
          {"grad_codec", args.grad_codec},
          {"grad_exchange", args.grad_exchange},
          {"error_feedback", args.error_feedback},
          {"bytes_sent", bytes},
          {"steps", result.steps},
          {"bytes_sent_per_step", result.steps > 0 ? double(bytes) / double(result.steps) : 0.0}};
}

}  // namespace

void register_train(CLI::App& app) {
  static TrainArgs args;
  auto* cmd = app.add_subcommand(
      "train", "One training run (TOML config and/or flags); --resume continues one");
  cmd->add_option("--config", args.config,
                  "TOML file (keys as in a run's config.toml); flags override it");
  cmd->add_option("--out", args.out,
                  "Run directory (config.toml, checkpoint.pt, metrics.csv, summary.json)");
  cmd->add_option("--resume", args.resume,
                  "Continue the run in this directory from its checkpoint");
  // Each setting's flag; capture_default_str shows the default in --help.
  std::vector<std::pair<Setting, CLI::Option*>> flags;
  for (const Setting& s : settings_of(args))
    flags.emplace_back(
        s, std::visit(
               [&](auto* target) {
                 if constexpr (std::is_same_v<decltype(target), bool*>)
                   return cmd->add_flag(s.flag, *target, s.help);
                 else
                   return cmd->add_option(s.flag, *target, s.help)->capture_default_str();
               },
               s.target));
  CLI::Option* format_flag =
      cmd->add_option("--format", args.format, "One format for every quantity (e.g. bfp:8)");
  cmd->add_option("--threads", args.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  // Model parallelism: not config.toml settings (a model-parallel run has no checkpoint).
  cmd->add_flag(
      "--model-parallel", args.model_parallel,
      "Split-MLP model parallelism over MPI (run under mpirun -np N): the hidden layers split "
      "by units, activations all-gathered and errors reduce-scattered through --act-codec");
  CLI::Option* hidden_flag =
      cmd->add_option("--hidden", args.hidden, "Model parallel: units of each hidden layer")
          ->capture_default_str();
  CLI::Option* act_codec_flag =
      cmd->add_option("--act-codec", args.act_codec,
                      "Model parallel: fp32 | dt8 | st8 | int8 | fp8e4m3 | fp8e5m2 | sign1")
          ->capture_default_str();
  CLI::Option* act_block_flag =
      cmd->add_option("--act-block", args.act_block,
                      "Model parallel: values per scale (0: one per message)")
          ->capture_default_str();
  cmd->add_option("--stop-after", args.stop_after,
                  "Stop after this many epochs of this call (as if killed)")
      ->check(CLI::Range(0, 1000000));
  cmd->callback([flags, format_flag, hidden_flag, act_codec_flag, act_block_flag] {
    if (!args.model_parallel)
      for (const CLI::Option* flag : {hidden_flag, act_codec_flag, act_block_flag})
        if (flag->count() > 0) throw InvalidInput(flag->get_name() + " needs --model-parallel");
    if (args.model_parallel && (!args.resume.empty() || args.stop_after > 0))
      throw InvalidInput(
          "--model-parallel runs keep no checkpoint: --resume and --stop-after cannot be "
          "combined with it");
    std::string dir = args.out;
    if (!args.resume.empty()) {
      for (const auto& [setting, flag] : flags)
        if (flag->count() > 0)
          throw InvalidInput("--resume continues the saved configuration; " + setting.flag +
                             " cannot be combined with it");
      if (format_flag->count() > 0)
        throw InvalidInput(
            "--resume continues the saved configuration; --format cannot be "
            "combined with it");
      if (!args.config.empty()) throw InvalidInput("--resume cannot be combined with --config");
      dir = args.resume;
      if (!std::filesystem::exists(dir + "/config.toml"))
        throw InvalidInput("cannot resume '" + dir +
                           "': no config.toml there (not a run directory)");
      args.config = dir + "/config.toml";
    }
    if (dir.empty()) throw InvalidInput("give --out DIR for a new run, or --resume DIR");
    // The config file applies underneath the flags, --format underneath the per-quantity
    // flags: keep what the command line set explicitly, apply those, then put it back.
    std::vector<std::pair<Target, Value>> given;
    for (const auto& [setting, flag] : flags)
      if (flag->count() > 0)
        std::visit([&](auto* target) { given.emplace_back(target, Value(*target)); },
                   setting.target);
    if (!args.config.empty()) load_config(args.config, args);
    if (!args.format.empty()) args.options.quant.set_sites(args.format);
    for (const auto& [target, value] : given)
      std::visit([&](auto* t) { *t = std::get<std::remove_pointer_t<decltype(t)>>(value); },
                 target);
    // Validate before anything is written to the run directory.
    engine::validate(args.options);
    if (args.model_parallel) {
#ifdef SWALP_HAVE_MPI
      run_model_parallel(args, dir);
      return;
#else
      throw InvalidInput(
          "--model-parallel needs MPI, and this build has none: install libopenmpi-dev and "
          "openmpi-bin (Debian) and rebuild");
#endif
    }
    engine::make_model(args.options.model, {}, args.data.rfind("cifar", 0) == 0 ? 3 : 1,
                       args.data.rfind("cifar100", 0) == 0 ? 100 : 10);  // validates the name
    const bool writer = start_data_parallel(args);  // rank 0 (or the only process) writes
    engine::configure_threads(args.threads);
    const engine::DataSplits data = engine::load_data(args.data, args.limit_train, args.limit_test);
    const engine::Dataset& train_set = data.train;
    const engine::Dataset& test_set = data.test;
    args.options.in_channels = data.channels();
    args.options.classes = train_set.classes;
    args.options.augment = args.data.rfind("cifar", 0) == 0;  // the paper augments CIFAR
    // One process per run directory: two would interleave their files (released at exit).
    std::optional<io::DirectoryLock> lock;
    if (writer) lock.emplace(dir);
    if (args.resume.empty() && std::filesystem::exists(dir + "/checkpoint.pt"))
      throw InvalidInput("'" + dir + "' already holds a run (checkpoint.pt); use --resume " + dir +
                         " to continue it, or another --out");
    if (args.resume.empty() && writer)
      io::write_file_atomic(dir + "/config.toml", resolved_config(args));
    args.options.checkpoint = dir + "/checkpoint.pt";
    args.options.settings = resolved_config(args);
    args.options.stop_after_epochs = args.stop_after;
    TrainingProgress progress;
    engine::TrainResult result;
    try {
      result = engine::train(
          args.options, train_set, test_set,
          [&](const std::vector<engine::EpochMetrics>& epochs) {
            if (!writer) return;
            progress.on_epoch(epochs.back());
            // After every epoch, so that a run that stops on an error keeps it.
            io::write_file_atomic(dir + "/metrics.csv", metrics_csv(epochs));
          },
          [&](const engine::StepProgress& p) {
            if (writer) progress.on_step(p);
          });
    } catch (const std::exception& e) {
      if (!args.data_parallel) throw;
      // One worker failed: end them all with its message, not a hang.
      std::fprintf(stderr, "swalp: error: %s\n", e.what());
      abort_data_parallel(dynamic_cast<const InvalidInput*>(&e) ? 2 : 1);
    }
    if (!writer) return;
    io::write_file_atomic(dir + "/metrics.csv", metrics_csv(result.epochs));
    const nlohmann::json summary = {
        {"model", args.options.model},
        {"device", engine::resolve_device(args.options.device).str()},
        {"epochs_done", result.epochs.size()},
        {"epochs", args.options.epochs},
        {"finished", result.finished},
        {"test_error_sgd", result.test_error_sgd},
        {"test_error_swa", result.test_error_swa < 0 ? nlohmann::json(nullptr)
                                                     : nlohmann::json(result.test_error_swa)},
        {"test_error_swa_lp", result.test_error_swa_lp < 0
                                  ? nlohmann::json(nullptr)
                                  : nlohmann::json(result.test_error_swa_lp)},
        {"state_checksum",
         result.finished ? nlohmann::json(result.state_checksum) : nlohmann::json(nullptr)},
        {"data_parallel", data_parallel_summary(args, result)}};
    io::write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
    char swa[48] = "";
    if (result.test_error_swa >= 0)
      std::snprintf(swa, sizeof swa, ", SWA %.2f%%", result.test_error_swa);
    else if (result.test_error_swa_lp >= 0)
      std::snprintf(swa, sizeof swa, ", SWA %.2f%% (quantized activations)",
                    result.test_error_swa_lp);
    std::printf("%s: %zu of %d epochs; test error SGD %.2f%%%s\n", dir.c_str(),
                result.epochs.size(), args.options.epochs, result.test_error_sgd, swa);
  });
}

}  // namespace swalp::cli
