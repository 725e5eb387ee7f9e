// `swalp reproduce`: the SWALP comparison (FP32-SGD, FP32-SWA, SGD-LP, SWALP) on Fashion-MNIST
// with 8-bit block floating point and stochastic rounding, plus a word-length sweep.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "io/atomic_file.h"
#include "plot.h"
#include "swalp/error.h"
#include "swalp/rounding.h"
#include "train/threads.h"
#include "train/trainer.h"
#include "training_progress.h"

namespace swalp::cli {

namespace {

struct ReproduceArgs {
  std::string experiment = "fashion-mnist", model = "mlp", format = "bfp", rounding = "stochastic";
  std::string out, seeds = "1,2,3", word_lengths = "4,6", device = "cpu";
  int epochs = 15, word_length = 8, swa_start = 0, swa_every = 0, batch_size = 128, threads = 0;
  double lr_init = 0.05, swa_lr = 0.01;
  int64_t limit_train = 0, limit_test = 0;
};

std::vector<int> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int> values;
  std::stringstream stream(text);
  for (std::string field; std::getline(stream, field, ',');) {
    try {
      size_t used = 0;
      values.push_back(std::stoi(field, &used));
      if (used != field.size()) throw std::invalid_argument(field);
    } catch (const std::exception&) {
      throw InvalidInput("bad " + option + " '" + text +
                         "': expected integers separated by commas");
    }
  }
  return values;
}

struct Stats {
  double mean = 0, std = 0;
  std::vector<double> per_seed;
};

Stats stats_of(const std::vector<double>& values) {
  Stats s;
  s.per_seed = values;
  for (double v : values) s.mean += v / double(values.size());
  for (double v : values) s.std += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(s.std / double(values.size() - 1)) : 0.0;
  return s;
}

std::string cell(const Stats& s) {
  char text[64];
  if (s.per_seed.size() > 1)
    std::snprintf(text, sizeof text, "%.2f ± %.2f", s.mean, s.std);
  else
    std::snprintf(text, sizeof text, "%.2f", s.mean);
  return text;
}

}  // namespace

void register_reproduce(CLI::App& app) {
  static ReproduceArgs args;
  auto* cmd =
      app.add_subcommand("reproduce", "The SWALP comparison: FP32-SGD, FP32-SWA, SGD-LP, SWALP");
  cmd->add_option("--experiment", args.experiment,
                  "fashion-mnist[:DIR] | synthetic | cifar10:DIR | cifar100:DIR")
      ->capture_default_str();
  cmd->add_option("--model", args.model, "logreg | mlp | cnn | vgg16 | preresnetD")
      ->capture_default_str();
  cmd->add_option("--epochs", args.epochs, "Epochs per run")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--swa-start", args.swa_start, "Epochs before averaging (0: 60% of --epochs)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--swa-every", args.swa_every,
                  "Average every this many steps (0: once per epoch)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--lr-init", args.lr_init, "Initial learning rate")->capture_default_str();
  cmd->add_option("--swa-lr", args.swa_lr, "Constant learning rate while averaging")
      ->capture_default_str();
  cmd->add_option("--batch-size", args.batch_size, "Minibatch size")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--format", args.format, "Low-precision family: bfp (bfp:WL at every site)")
      ->capture_default_str();
  cmd->add_option("--word-length", args.word_length, "Word length of the main comparison")
      ->capture_default_str()
      ->check(CLI::Range(2, 32));
  cmd->add_option("--word-lengths", args.word_lengths,
                  "Extra word lengths for the SGD-LP/SWALP sweep (empty: none)")
      ->capture_default_str();
  cmd->add_option("--rounding", args.rounding, "Rounding of every quantizer")
      ->capture_default_str();
  cmd->add_option("--seeds", args.seeds, "Seeds, comma-separated (mean ± std over them)")
      ->capture_default_str();
  cmd->add_option("--limit-train", args.limit_train,
                  "Use at most this many training examples (0 = all)");
  cmd->add_option("--limit-test", args.limit_test, "Use at most this many test examples (0 = all)");
  cmd->add_option("--threads", args.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--device", args.device, "cpu | cuda | auto")->capture_default_str();
  cmd->add_option("--out", args.out, "Directory for summary.json, table.md and metrics.csv");
  cmd->callback([] {
    using namespace engine;
    const auto start = std::chrono::steady_clock::now();
    if (args.format != "bfp")
      throw InvalidInput("bad --format '" + args.format + "'; accepted: bfp");
    parse_rounding(args.rounding);
    resolve_device(args.device);
    const std::vector<int> seeds = parse_int_list(args.seeds, "--seeds");
    const std::vector<int> sweep = args.word_lengths.empty()
                                       ? std::vector<int>{}
                                       : parse_int_list(args.word_lengths, "--word-lengths");
    if (seeds.empty()) throw InvalidInput("--seeds is empty; give at least one seed");
    configure_threads(args.threads);

    const DataSplits data = load_data(args.experiment, args.limit_train, args.limit_test);
    const Dataset& train_set = data.train;
    const Dataset& test_set = data.test;

    TrainOptions base;
    base.model = args.model;
    base.epochs = args.epochs;
    base.swa_start =
        args.swa_start > 0 ? args.swa_start : std::max(1, int(std::lround(0.6 * args.epochs)));
    if (base.swa_start >= base.epochs)
      throw InvalidInput("--swa-start " + std::to_string(base.swa_start) +
                         " leaves no epoch to average; it must be below --epochs " +
                         std::to_string(base.epochs));
    base.batch_size = args.batch_size;
    base.device = args.device;
    base.swa_every = args.swa_every;
    base.in_channels = data.channels();
    base.classes = train_set.classes;
    base.augment = args.experiment.rfind("cifar", 0) == 0;
    base.lr_init = args.lr_init;
    base.swa_lr = args.swa_lr;

    std::string csv =
        "run,word_length,seed,epoch,lr,train_loss,train_error,test_error_sgd,test_error_swa,"
        "seconds\n";
    auto run = [&](const std::string& name, int word_length, int seed) {
      TrainOptions o = base;
      o.seed = uint64_t(seed);
      if (word_length > 0)
        o.quant = QuantPlan::uniform("bfp:" + std::to_string(word_length), args.rounding);
      std::fprintf(stderr, "swalp: %s (%s, seed %d): training %d epochs on %lld examples\n",
                   name.c_str(),
                   word_length > 0 ? ("bfp:" + std::to_string(word_length)).c_str() : "fp32", seed,
                   o.epochs, static_cast<long long>(train_set.size()));
      TrainingProgress progress;
      return train(
          o, train_set, test_set,
          [&](const std::vector<EpochMetrics>& epochs) {
            const EpochMetrics& m = epochs.back();
            progress.on_epoch(m);
        char row[256];
        std::snprintf(row, sizeof row, "%s,%d,%d,%d,%.6f,%.6f,%.4f,%.4f,%.4f,%.3f\n", name.c_str(),
                      word_length, seed, m.epoch, m.lr, m.train_loss, m.train_error,
                      m.test_error_sgd, m.test_error_swa, m.seconds);
        csv += row;
          },
          [&](const StepProgress& p) { progress.on_step(p); });
    };

    std::map<std::string, std::vector<double>> errors;
    TrainResult first_fp, first_lp;  // the first seed's runs, for the per-epoch plot
    for (int seed : seeds) {
      const TrainResult fp = run("FP32", 0, seed);
      if (seed == seeds[0]) first_fp = fp;
      errors["SGD-FP32"].push_back(fp.test_error_sgd);
      errors["SWA-FP32"].push_back(fp.test_error_swa);
      const TrainResult lp = run("LP", args.word_length, seed);
      if (seed == seeds[0]) first_lp = lp;
      errors["SGD-LP"].push_back(lp.test_error_sgd);
      errors["SWALP"].push_back(lp.test_error_swa);
    }
    nlohmann::json sweep_json = nlohmann::json::array();
    sweep_json.push_back({{"word_length", args.word_length},
                          {"SGD-LP", errors["SGD-LP"][0]},
                          {"SWALP", errors["SWALP"][0]}});
    std::vector<int> sweep_sorted = sweep;
    std::sort(sweep_sorted.begin(), sweep_sorted.end());
    for (int wl : sweep_sorted) {
      if (wl == args.word_length) continue;
      const TrainResult lp = run("LP", wl, seeds[0]);
      sweep_json.push_back(
          {{"word_length", wl}, {"SGD-LP", lp.test_error_sgd}, {"SWALP", lp.test_error_swa}});
    }

    std::sort(sweep_json.begin(), sweep_json.end(),
              [](const nlohmann::json& a, const nlohmann::json& b) {
                return a["word_length"].get<int>() < b["word_length"].get<int>();
              });
    std::string table = "| method | test error % |\n| --- | --- |\n";
    nlohmann::json results;
    for (const char* method : {"SGD-FP32", "SWA-FP32", "SGD-LP", "SWALP"}) {
      const Stats s = stats_of(errors[method]);
      table += std::string("| ") + method + " | " + cell(s) + " |\n";
      results[method] = {
          {"test_error_mean", s.mean}, {"test_error_std", s.std}, {"per_seed", s.per_seed}};
    }
    std::string sweep_table = "\n| word length | SGD-LP | SWALP |\n| --- | --- | --- |\n";
    for (const auto& row : sweep_json) {
      char line[128];
      std::snprintf(line, sizeof line, "| %d | %.2f | %.2f |\n", row["word_length"].get<int>(),
                    row["SGD-LP"].get<double>(), row["SWALP"].get<double>());
      sweep_table += line;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char header[512];
    std::snprintf(header, sizeof header,
                  "%s, model %s, %d epochs (averaging from epoch %d), bfp:%d with %s rounding at "
                  "every site, seeds %s\n\n",
                  args.experiment.c_str(), args.model.c_str(), base.epochs, base.swa_start + 1,
                  args.word_length, args.rounding.c_str(), args.seeds.c_str());
    std::printf("%s%s%s", header, table.c_str(), sweep_table.c_str());
    if (!args.out.empty()) {
      nlohmann::json summary = {{"experiment", args.experiment},
                                {"model", args.model},
                                {"word_length", args.word_length},
                                {"seeds", seeds},
                                {"epochs", base.epochs},
                                {"swa_start", base.swa_start},
                                {"seconds", seconds},
                                {"results", results},
                                {"sweep", sweep_json}};
      io::write_file_atomic(args.out + "/summary.json", summary.dump(2) + "\n");
      io::write_file_atomic(args.out + "/table.md", header + table + sweep_table);
      io::write_file_atomic(args.out + "/metrics.csv", csv);
      // Test error per epoch of the first seed's four curves, and error against word length.
      std::string curves = "epoch,sgd_fp32,swa_fp32,sgd_lp,swalp\n";
      auto value = [](double v) { return v < 0 ? std::string("NaN") : std::to_string(v); };
      for (size_t e = 0; e < first_fp.epochs.size(); ++e)
        curves += std::to_string(e + 1) + "," + value(first_fp.epochs[e].test_error_sgd) + "," +
                  value(first_fp.epochs[e].test_error_swa) + "," +
                  value(first_lp.epochs[e].test_error_sgd) + "," +
                  value(first_lp.epochs[e].test_error_swa) + "\n";
      io::write_file_atomic(args.out + "/curves.csv", curves);
      const std::string wl = std::to_string(args.word_length);
      std::string script =
          "set terminal pngcairo size 900,560 noenhanced\nset datafile separator ','\n"
          "set output 'test_error.png'\nset title 'Test error per epoch (seed " +
          std::to_string(seeds[0]) +
          ")'\nset xlabel 'epoch'\nset ylabel 'test error %'\nset grid\nset key top right\n"
          "plot 'curves.csv' every ::1 using 1:2 with linespoints title 'SGD-FP32', "
          "'' every ::1 using 1:3 with linespoints title 'SWA-FP32', "
          "'' every ::1 using 1:4 with linespoints title 'SGD-LP (bfp:" +
          wl +
          ")', "
          "'' every ::1 using 1:5 with linespoints title 'SWALP (bfp:" +
          wl + ")'\n";
      std::string sweep_data = "word_length,sgd_lp,swalp\n";
      for (const auto& row : sweep_json)
        sweep_data += std::to_string(row["word_length"].get<int>()) + "," +
                      std::to_string(row["SGD-LP"].get<double>()) + "," +
                      std::to_string(row["SWALP"].get<double>()) + "\n";
      io::write_file_atomic(args.out + "/sweep.csv", sweep_data);
      script +=
          "set output 'word_length.png'\nset title 'Test error against word length (bfp, every "
          "site)'\n"
          "set xlabel 'word length (bits)'\nset ylabel 'test error %'\n"
          "plot 'sweep.csv' every ::1 using 1:2 with linespoints title 'SGD-LP', "
          "'sweep.csv' every ::1 using 1:3 with linespoints title 'SWALP'\n";
      std::string why;
      if (!run_gnuplot(args.out, script, why))
        std::fprintf(stderr, "swalp: no plots: %s\n", why.c_str());
    }
  });
}

}  // namespace swalp::cli
