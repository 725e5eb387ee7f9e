// `swalp train`: one training run from a TOML config and/or flags, into a run directory holding
// config.toml (resolved), checkpoint.pt (after every epoch), metrics.csv and summary.json.
// `--resume DIR` continues a run bit for bit from its checkpoint.
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "epoch_log.h"
#include "io/atomic_file.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "train/models.h"
#include "train/threads.h"
#include "train/trainer.h"

namespace swalp::cli {

namespace {

struct TrainArgs {
  engine::TrainOptions options;
  std::string config, out, resume, data = "fashion-mnist", format;
  int64_t limit_train = 0, limit_test = 0;
  int threads = 0, stop_after = 0;
};

// Keys of config.toml: the one list that the loader checks and the writer writes.
const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = {"model",
                                                "epochs",
                                                "batch_size",
                                                "lr_init",
                                                "swa_lr",
                                                "swa_start",
                                                "swa_every",
                                                "momentum",
                                                "weight_decay",
                                                "seed",
                                                "data",
                                                "limit_train",
                                                "limit_test",
                                                "quant.weight",
                                                "quant.grad",
                                                "quant.momentum",
                                                "quant.accumulator",
                                                "quant.activation",
                                                "quant.error",
                                                "quant.rounding"};
  return keys;
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

[[noreturn]] void unknown_key(const std::string& file, const std::string& key) {
  std::string best;
  size_t best_distance = 4;
  for (const auto& k : config_keys()) {
    const size_t d = edit_distance(key, k);
    if (d < best_distance) best = k, best_distance = d;
  }
  std::string accepted;
  for (const auto& k : config_keys()) accepted += (accepted.empty() ? "" : ", ") + k;
  throw InvalidInput("unknown key '" + key + "' in " + file +
                     (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                     "; accepted: " + accepted);
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
  engine::TrainOptions& o = args.options;
  auto check_type = [&](const std::string& key, bool ok, const char* type) {
    if (!ok) throw InvalidInput("config '" + path + "': '" + key + "' must be " + type);
  };
  for (const auto& [key_view, node] : table) {
    const std::string key(key_view.str());
    if (key == "quant") {
      const toml::table* quant = node.as_table();
      check_type(key, quant != nullptr, "a table");
      for (const auto& [sub_view, sub] : *quant) {
        const std::string sub_key(sub_view.str()), full = "quant." + sub_key;
        check_type(full, sub.is_string(), "a string");
        const std::string value = sub.value<std::string>().value();
        if (sub_key == "weight")
          o.quant.weight = value;
        else if (sub_key == "grad")
          o.quant.grad = value;
        else if (sub_key == "momentum")
          o.quant.momentum = value;
        else if (sub_key == "accumulator")
          o.quant.accumulator = value;
        else if (sub_key == "activation")
          o.quant.activation = value;
        else if (sub_key == "error")
          o.quant.error = value;
        else if (sub_key == "rounding")
          o.quant.rounding = value;
        else
          unknown_key(path, full);
      }
      continue;
    }
    auto integer = [&]() {
      check_type(key, node.is_integer(), "an integer");
      return node.value<int64_t>().value();
    };
    auto number = [&]() {
      check_type(key, node.is_number(), "a number");
      return node.value<double>().value();
    };
    auto text = [&]() {
      check_type(key, node.is_string(), "a string");
      return node.value<std::string>().value();
    };
    if (key == "model")
      o.model = text();
    else if (key == "epochs")
      o.epochs = int(integer());
    else if (key == "batch_size")
      o.batch_size = int(integer());
    else if (key == "lr_init")
      o.lr_init = number();
    else if (key == "swa_lr")
      o.swa_lr = number();
    else if (key == "swa_start")
      o.swa_start = int(integer());
    else if (key == "swa_every")
      o.swa_every = int(integer());
    else if (key == "momentum")
      o.momentum = number();
    else if (key == "weight_decay")
      o.weight_decay = number();
    else if (key == "seed")
      o.seed = uint64_t(integer());
    else if (key == "data")
      args.data = text();
    else if (key == "limit_train")
      args.limit_train = integer();
    else if (key == "limit_test")
      args.limit_test = integer();
    else
      unknown_key(path, key);
  }
}

std::string resolved_config(const TrainArgs& args) {
  const engine::TrainOptions& o = args.options;
  std::ostringstream out;
  out.precision(17);
  auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  out << "# resolved by swalp train\n"
      << "model = " << quoted(o.model) << "\nepochs = " << o.epochs
      << "\nbatch_size = " << o.batch_size << "\nlr_init = " << o.lr_init
      << "\nswa_lr = " << o.swa_lr << "\nswa_start = " << o.swa_start
      << "\nswa_every = " << o.swa_every << "\nmomentum = " << o.momentum
      << "\nweight_decay = " << o.weight_decay << "\nseed = " << o.seed
      << "\ndata = " << quoted(args.data) << "\nlimit_train = " << args.limit_train
      << "\nlimit_test = " << args.limit_test << "\n\n[quant]\nweight = " << quoted(o.quant.weight)
      << "\ngrad = " << quoted(o.quant.grad) << "\nmomentum = " << quoted(o.quant.momentum)
      << "\naccumulator = " << quoted(o.quant.accumulator)
      << "\nactivation = " << quoted(o.quant.activation) << "\nerror = " << quoted(o.quant.error)
      << "\nrounding = " << quoted(o.quant.rounding) << "\n";
  return out.str();
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

}  // namespace

void register_train(CLI::App& app) {
  static TrainArgs args;
  engine::TrainOptions& o = args.options;
  auto* cmd = app.add_subcommand(
      "train", "One training run (TOML config and/or flags); --resume continues one");
  std::vector<CLI::Option*> settings;
  cmd->add_option("--config", args.config,
                  "TOML file (keys as in a run's config.toml); flags override it");
  cmd->add_option("--out", args.out,
                  "Run directory (config.toml, checkpoint.pt, metrics.csv, summary.json)");
  cmd->add_option("--resume", args.resume,
                  "Continue the run in this directory from its checkpoint");
  settings.push_back(cmd->add_option("--model", o.model, "logreg | mlp | cnn | vgg16 | preresnetD")
                         ->capture_default_str());
  settings.push_back(cmd->add_option("--epochs", o.epochs, "Epochs")
                         ->capture_default_str()
                         ->check(CLI::Range(1, 1000000)));
  settings.push_back(
      cmd->add_option("--batch-size", o.batch_size, "Minibatch size")->capture_default_str());
  settings.push_back(
      cmd->add_option("--lr-init", o.lr_init, "Initial learning rate")->capture_default_str());
  settings.push_back(cmd->add_option("--swa-lr", o.swa_lr, "Learning rate while averaging")
                         ->capture_default_str());
  settings.push_back(cmd->add_option("--swa-start", o.swa_start, "Epochs before averaging")
                         ->capture_default_str());
  settings.push_back(
      cmd->add_option("--swa-every", o.swa_every, "Average every K steps (0: per epoch)")
          ->capture_default_str());
  settings.push_back(
      cmd->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str());
  settings.push_back(
      cmd->add_option("--weight-decay", o.weight_decay, "Weight decay (added in fp32)")
          ->capture_default_str());
  settings.push_back(cmd->add_option("--seed", o.seed, "Seed")->capture_default_str());
  settings.push_back(
      cmd->add_option("--data", args.data, "fashion-mnist | synthetic | cifar10:DIR | cifar100:DIR")
          ->capture_default_str());
  settings.push_back(
      cmd->add_option("--limit-train", args.limit_train, "At most this many training examples"));
  settings.push_back(
      cmd->add_option("--limit-test", args.limit_test, "At most this many test examples"));
  settings.push_back(
      cmd->add_option("--format", args.format, "One format for every site (e.g. bfp:8)"));
  settings.push_back(cmd->add_option("--weight-format", o.quant.weight, "Weights"));
  settings.push_back(cmd->add_option("--grad-format", o.quant.grad, "Gradients"));
  settings.push_back(cmd->add_option("--momentum-format", o.quant.momentum, "Momentum buffer"));
  settings.push_back(
      cmd->add_option("--accumulator-format", o.quant.accumulator, "Accumulator (master weights)"));
  settings.push_back(
      cmd->add_option("--activation-format", o.quant.activation, "Activations (forward)"));
  settings.push_back(cmd->add_option("--error-format", o.quant.error, "Errors (backward)"));
  settings.push_back(cmd->add_option("--rounding", o.quant.rounding, "Rounding of every quantizer")
                         ->capture_default_str());
  cmd->add_option("--threads", args.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--stop-after", args.stop_after,
                  "Stop after this many epochs of this call (as if killed)")
      ->check(CLI::Range(0, 1000000));
  cmd->callback([settings] {
    // Flags were parsed into args already; a config file applies underneath them.
    std::string dir = args.out;
    if (!args.resume.empty()) {
      for (const CLI::Option* opt : settings)
        if (opt->count() > 0)
          throw InvalidInput("--resume continues the saved configuration; " + opt->get_name() +
                             " cannot be combined with it");
      if (!args.config.empty()) throw InvalidInput("--resume cannot be combined with --config");
      dir = args.resume;
      if (!std::filesystem::exists(dir + "/config.toml"))
        throw InvalidInput("cannot resume '" + dir +
                           "': no config.toml there (not a run directory)");
      args.config = dir + "/config.toml";
    }
    if (dir.empty()) throw InvalidInput("give --out DIR for a new run, or --resume DIR");
    if (!args.config.empty()) {
      TrainArgs from_flags = args;
      load_config(args.config, args);
      // Re-apply what the command line set explicitly.
      for (const CLI::Option* opt : settings)
        if (opt->count() > 0) {
          const std::string name = opt->get_name();
          if (name == "--model") args.options.model = from_flags.options.model;
          if (name == "--epochs") args.options.epochs = from_flags.options.epochs;
          if (name == "--batch-size") args.options.batch_size = from_flags.options.batch_size;
          if (name == "--lr-init") args.options.lr_init = from_flags.options.lr_init;
          if (name == "--swa-lr") args.options.swa_lr = from_flags.options.swa_lr;
          if (name == "--swa-start") args.options.swa_start = from_flags.options.swa_start;
          if (name == "--swa-every") args.options.swa_every = from_flags.options.swa_every;
          if (name == "--momentum") args.options.momentum = from_flags.options.momentum;
          if (name == "--weight-decay") args.options.weight_decay = from_flags.options.weight_decay;
          if (name == "--seed") args.options.seed = from_flags.options.seed;
          if (name == "--data") args.data = from_flags.data;
          if (name == "--limit-train") args.limit_train = from_flags.limit_train;
          if (name == "--limit-test") args.limit_test = from_flags.limit_test;
          if (name == "--format") args.format = from_flags.format;
          if (name == "--weight-format")
            args.options.quant.weight = from_flags.options.quant.weight;
          if (name == "--grad-format") args.options.quant.grad = from_flags.options.quant.grad;
          if (name == "--momentum-format")
            args.options.quant.momentum = from_flags.options.quant.momentum;
          if (name == "--accumulator-format")
            args.options.quant.accumulator = from_flags.options.quant.accumulator;
          if (name == "--activation-format")
            args.options.quant.activation = from_flags.options.quant.activation;
          if (name == "--error-format") args.options.quant.error = from_flags.options.quant.error;
          if (name == "--rounding") args.options.quant.rounding = from_flags.options.quant.rounding;
        }
    }
    if (!args.format.empty()) {
      const std::string rounding = args.options.quant.rounding;
      args.options.quant = engine::QuantPlan::uniform(args.format, rounding);
    }
    // Validate before anything is written to the run directory.
    const engine::QuantPlan& plan = args.options.quant;
    for (const std::string* site : {&plan.weight, &plan.grad, &plan.momentum, &plan.accumulator,
                                    &plan.activation, &plan.error})
      if (!site->empty()) make_quant_spec(*site, plan.rounding);
    parse_rounding(plan.rounding);
    engine::make_model(args.options.model, {}, args.data.rfind("cifar", 0) == 0 ? 3 : 1,
                       args.data.rfind("cifar100", 0) == 0 ? 100 : 10);  // validates the name
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
    if (args.resume.empty()) io::write_file_atomic(dir + "/config.toml", resolved_config(args));
    args.options.checkpoint = dir + "/checkpoint.pt";
    args.options.stop_after_epochs = args.stop_after;
    const engine::TrainResult result = engine::train(
        args.options, train_set, test_set, [](const engine::EpochMetrics& m) { log_epoch(m); });
    io::write_file_atomic(dir + "/metrics.csv", metrics_csv(result.epochs));
    const nlohmann::json summary = {
        {"model", args.options.model},
        {"epochs_done", result.epochs.size()},
        {"epochs", args.options.epochs},
        {"finished", result.finished},
        {"test_error_sgd", result.test_error_sgd},
        {"test_error_swa", result.test_error_swa < 0 ? nlohmann::json(nullptr)
                                                     : nlohmann::json(result.test_error_swa)}};
    io::write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
    std::printf(
        "%s: %zu of %d epochs; test error SGD %.2f%%%s\n", dir.c_str(), result.epochs.size(),
        args.options.epochs, result.test_error_sgd,
        result.test_error_swa < 0
            ? ""
            : (", SWA " + std::to_string(result.test_error_swa).substr(0, 5) + "%").c_str());
  });
}

}  // namespace swalp::cli
