// `swalp train`: one training run from a TOML config and/or flags, into a run directory holding
// config.toml (resolved), checkpoint.pt (after every epoch), metrics.csv and summary.json.
// `--resume DIR` continues a run bit for bit from its checkpoint.
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>
#include <variant>

#include "commands.h"
#include "io/atomic_file.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "train/models.h"
#include "train/threads.h"
#include "train/trainer.h"
#include "training_progress.h"
#ifdef SWALP_HAVE_MPI
#include "distributed/mpi_exchange.h"
#endif

namespace swalp::cli {

namespace {

struct TrainArgs {
  engine::TrainOptions options;
  std::string config, out, resume, data = "fashion-mnist", format;
  int64_t limit_train = 0, limit_test = 0;
  int threads = 0, stop_after = 0;
  // Data parallel (under mpirun): gradient codec, error feedback, values per scale.
  bool data_parallel = false, error_feedback = false;
  std::string grad_codec = "fp32";
  size_t grad_block = 0;
};

// One setting of a run: its config.toml key (quant.* keys live in the [quant] table), its flag
// and where its value lives. The loader, the writer and the flags all come from this one list.
using Target = std::variant<std::string*, int*, double*, int64_t*, uint64_t*, bool*>;
using Value = std::variant<std::string, int, double, int64_t, uint64_t, bool>;
struct Setting {
  std::string key, flag, help;
  Target target;
};

std::vector<Setting> settings_of(TrainArgs& a) {
  engine::TrainOptions& o = a.options;
  engine::QuantPlan& q = o.quant;
  return {
      {"model", "--model", "logreg | mlp | cnn | vgg16 | preresnetD", &o.model},
      {"epochs", "--epochs", "Epochs", &o.epochs},
      {"batch_size", "--batch-size", "Minibatch size", &o.batch_size},
      {"lr_init", "--lr-init", "Initial learning rate", &o.lr_init},
      {"swa_lr", "--swa-lr", "Learning rate while averaging", &o.swa_lr},
      {"swa_start", "--swa-start", "Epochs before averaging", &o.swa_start},
      {"swa_every", "--swa-every", "Average every K steps (0: per epoch)", &o.swa_every},
      {"momentum", "--momentum", "SGD momentum", &o.momentum},
      {"weight_decay", "--weight-decay", "Weight decay (added in fp32)", &o.weight_decay},
      {"seed", "--seed", "Seed", &o.seed},
      {"data", "--data", "fashion-mnist | synthetic | cifar10:DIR | cifar100:DIR", &a.data},
      {"limit_train", "--limit-train", "At most this many training examples (0 = all)",
       &a.limit_train},
      {"limit_test", "--limit-test", "At most this many test examples (0 = all)", &a.limit_test},
      {"eval", "--eval", "Evaluate with activation quantizers (quantized) or without (fp32)",
       &o.eval},
      {"quant.weight", "--weight-format", "Weights", &q.weight},
      {"quant.grad", "--grad-format", "Gradients", &q.grad},
      {"quant.momentum", "--momentum-format", "Momentum buffer", &q.momentum},
      {"quant.accumulator", "--accumulator-format", "Accumulator (master weights)", &q.accumulator},
      {"quant.activation", "--activation-format", "Activations (forward)", &q.activation},
      {"quant.error", "--error-format", "Errors (backward)", &q.error},
      {"quant.swa", "--swa-format", "The SWA average itself (empty: fp32)", &q.swa},
      {"quant.rounding", "--rounding", "Rounding of every quantizer", &q.rounding},
      {"data_parallel", "--data-parallel", "Data-parallel training over MPI (run under mpirun -np N)",
       &a.data_parallel},
      {"grad_codec", "--grad-codec", "Gradient exchange: fp32 | dt8 | st8 | int8 | fp8e4m3 | fp8e5m2",
       &a.grad_codec},
      {"error_feedback", "--error-feedback", "Add what the codec lost to the next gradient",
       &a.error_feedback},
      {"grad_block", "--grad-block", "Values per codec scale (0: per tensor)", &a.grad_block},
  };
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

[[noreturn]] void unknown_key(const std::string& file, const std::string& key,
                              const std::vector<Setting>& settings) {
  std::string best, accepted;
  size_t best_distance = 4;
  for (const Setting& s : settings) {
    const size_t d = edit_distance(key, s.key);
    if (d < best_distance) best = s.key, best_distance = d;
    accepted += (accepted.empty() ? "" : ", ") + s.key;
  }
  throw InvalidInput("unknown key '" + key + "' in " + file +
                     (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                     "; accepted: " + accepted);
}

// Stores a TOML value into a setting, checking its type.
void assign(const std::string& file, const Setting& s, const toml::node& node) {
  auto fail = [&](const char* type) {
    throw InvalidInput("config '" + file + "': '" + s.key + "' must be " + type);
  };
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!node.is_string()) fail("a string");
          *target = node.value<std::string>().value();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean()) fail("true or false");
          *target = node.value<bool>().value();
        } else if constexpr (std::is_same_v<T, double>) {
          if (!node.is_number()) fail("a number");
          *target = node.value<double>().value();
        } else {
          if (!node.is_integer()) fail("an integer");
          const int64_t v = node.value<int64_t>().value();
          if (v < int64_t(std::numeric_limits<T>::min()) ||
              (v > 0 && uint64_t(v) > uint64_t(std::numeric_limits<T>::max())))
            fail("an integer in range");
          *target = T(v);
        }
      },
      s.target);
}

// Applies a TOML file to args (flags given on the command line win: applied afterwards).
void load_config(const std::string& path, TrainArgs& args) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    throw InvalidInput("cannot read config '" + path + "': " + std::string(e.description()) +
                       " at " + where.str());
  }
  const std::vector<Setting> settings = settings_of(args);
  auto apply = [&](const std::string& key, const toml::node& node) {
    for (const Setting& s : settings)
      if (s.key == key) return assign(path, s, node);
    unknown_key(path, key, settings);
  };
  for (const auto& [key_view, node] : table) {
    const std::string key(key_view.str());
    if (key != "quant") {
      apply(key, node);
      continue;
    }
    const toml::table* quant = node.as_table();
    if (quant == nullptr) throw InvalidInput("config '" + path + "': 'quant' must be a table");
    for (const auto& [sub_view, sub] : *quant) apply("quant." + std::string(sub_view.str()), sub);
  }
}

std::string resolved_config(TrainArgs& args) {
  std::ostringstream top, quant;
  top.precision(17);
  top << std::boolalpha;
  top << "# resolved by swalp train\n";
  for (const Setting& s : settings_of(args)) {
    const bool in_quant = s.key.rfind("quant.", 0) == 0;
    std::ostream& out = in_quant ? quant : top;
    out << (in_quant ? s.key.substr(6) : s.key) << " = ";
    std::visit(
        [&](auto* target) {
          if constexpr (std::is_same_v<std::remove_pointer_t<decltype(target)>, std::string>)
            out << nlohmann::json(*target).dump();  // a valid TOML basic string
          else
            out << *target;
        },
        s.target);
    out << "\n";
  }
  return top.str() + "\n[quant]\n" + quant.str();
}

std::string metrics_csv(const std::vector<engine::EpochMetrics>& epochs) {
  std::string csv = "epoch,lr,train_loss,train_error,test_error_sgd,test_error_swa,seconds\n";
  for (const auto& m : epochs) {
    char row[256];
    std::snprintf(row, sizeof row, "%d,%.9g,%.17g,%.6f,%.6f,%.6f,%.3f\n", m.epoch, m.lr,
                  m.train_loss, m.train_error, m.test_error_sgd, m.test_error_swa, m.seconds);
    csv += row;
  }
  return csv;
}

#ifdef SWALP_HAVE_MPI
std::unique_ptr<distributed::MpiSession> mpi_session;
#endif

// Starts MPI and the gradient exchange when asked; returns whether this process writes.
bool start_data_parallel(TrainArgs& args) {
  if (!args.data_parallel) {
    if (args.grad_codec != "fp32" || args.error_feedback)
      throw InvalidInput("--grad-codec and --error-feedback need --data-parallel");
    return true;
  }
#ifdef SWALP_HAVE_MPI
  if (!mpi_session) mpi_session = std::make_unique<distributed::MpiSession>(nullptr, nullptr);
  distributed::ExchangeOptions options;
  options.codec = args.grad_codec;
  options.error_feedback = args.error_feedback;
  options.block = args.grad_block;
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
  cmd->add_option("--stop-after", args.stop_after,
                  "Stop after this many epochs of this call (as if killed)")
      ->check(CLI::Range(0, 1000000));
  cmd->callback([flags, format_flag] {
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
    if (!args.format.empty()) {
      engine::QuantPlan& plan = args.options.quant;
      const std::string swa = plan.swa;
      plan = engine::QuantPlan::uniform(args.format, plan.rounding);
      plan.swa = swa;
    }
    for (const auto& [target, value] : given)
      std::visit([&](auto* t) { *t = std::get<std::remove_pointer_t<decltype(t)>>(value); },
                 target);
    // Validate before anything is written to the run directory.
    const engine::QuantPlan& plan = args.options.quant;
    for (const std::string* site : {&plan.weight, &plan.grad, &plan.momentum, &plan.accumulator,
                                    &plan.activation, &plan.error, &plan.swa})
      if (!site->empty()) make_quant_spec(*site, plan.rounding);
    parse_rounding(plan.rounding);
    const auto& modes = engine::eval_modes();
    if (std::find(modes.begin(), modes.end(), args.options.eval) == modes.end())
      throw InvalidInput("bad --eval '" + args.options.eval + "'; accepted: quantized, fp32");
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
    if (args.resume.empty() && std::filesystem::exists(dir + "/checkpoint.pt"))
      throw InvalidInput("'" + dir + "' already holds a run (checkpoint.pt); use --resume " + dir +
                         " to continue it, or another --out");
    if (args.resume.empty() && writer)
      io::write_file_atomic(dir + "/config.toml", resolved_config(args));
    args.options.checkpoint = dir + "/checkpoint.pt";
    args.options.stop_after_epochs = args.stop_after;
    TrainingProgress progress;
    engine::TrainResult result;
    try {
      result = engine::train(
          args.options, train_set, test_set,
          [&](const engine::EpochMetrics& m) {
            if (writer) progress.on_epoch(m);
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
        {"epochs_done", result.epochs.size()},
        {"epochs", args.options.epochs},
        {"finished", result.finished},
        {"test_error_sgd", result.test_error_sgd},
        {"test_error_swa", result.test_error_swa < 0 ? nlohmann::json(nullptr)
                                                     : nlohmann::json(result.test_error_swa)},
        {"data_parallel", data_parallel_summary(args, result)}};
    io::write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
    char swa[48] = "";
    if (result.test_error_swa >= 0)
      std::snprintf(swa, sizeof swa, ", SWA %.2f%%", result.test_error_swa);
    std::printf("%s: %zu of %d epochs; test error SGD %.2f%%%s\n", dir.c_str(),
                result.epochs.size(), args.options.epochs, result.test_error_sgd, swa);
  });
}

}  // namespace swalp::cli
