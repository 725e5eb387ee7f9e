// `swalp reproduce`: formats what engine/train/reproduce.h measures. Study "comparison" (the
// default) is the SWALP table under the reference protocol with the word-length sweep;
// "averaging" the average's precision x frequency; "formats" SGD-LP vs SWALP per format.
// Shared flags come from the settings table of `swalp train` (train_config.cpp).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <variant>

#include "commands.h"
#include "io/atomic_file.h"
#include "io/directory_lock.h"
#include "plot.h"
#include "swalp/decimal.h"
#include "swalp/error.h"
#include "swalp/format.h"
#include "train/metrics.h"
#include "train/models.h"
#include "train/reproduce.h"
#include "train/threads.h"
#include "train_config.h"
#include "training_progress.h"

namespace swalp::cli {

namespace {

struct ReproduceArgs {
  TrainArgs train;  // the shared settings (model, epochs, rates, data, eval, ...)
  std::string experiment, preset, study = "comparison", format = "bfp:8", rounding = "stochastic";
  std::string seeds = "1,2,3", word_lengths = "4,6", widths = "8,6",
              average_word_lengths = "16,14,12,10,8", frequencies = "0,100,10,1";
  int word_length = 0, threads = 0;
  bool no_full_budget = false;
};

// The settings of `swalp train` that reproduce shares (its own flags replace the others).
const std::vector<std::string> kSharedKeys = {"model",
                                              "epochs",
                                              "batch_size",
                                              "lr_init",
                                              "swa_lr",
                                              "swa_start",
                                              "swa_every",
                                              "momentum",
                                              "weight_decay",
                                              "device",
                                              "data",
                                              "limit_train",
                                              "limit_test",
                                              "eval",
                                              "quant.swa",
                                              "quant.activation_scope",
                                              "quant.quantize_input",
                                              "quant.quantize_logits",
                                              "matmul_accumulate"};

// A preset: the hyper-parameters of one of the reference's exp/*.sh scripts.
struct Preset {
  const char* name;
  const char* data;  // the data family the preset needs
  const char* model;
  int epochs, swa_start;
  double lr_init, swa_lr, weight_decay;
};
// exp/block_vgg_swa.sh and exp/block_resnet_swa.sh (batch 128 and momentum 0.9 from train.py's
// defaults; bfp:8 with stochastic rounding at every site, small-block FC, block-dim B).
const Preset kPresets[] = {
    {"cifar10-vgg16", "cifar10", "vgg16", 300, 200, 0.05, 0.01, 5e-4},
    {"cifar100-vgg16", "cifar100", "vgg16", 300, 200, 0.05, 0.01, 5e-4},
    {"cifar10-preresnet164", "cifar10", "preresnet164", 225, 150, 0.1, 0.01, 3e-4},
    {"cifar100-preresnet164", "cifar100", "preresnet164", 225, 150, 0.1, 0.01, 3e-4},
};

template <typename T>
std::vector<T> parse_list(const std::string& text, const std::string& option, T low, T high) {
  std::vector<T> values;
  if (text.empty()) return values;
  std::stringstream stream(text);
  for (std::string field; std::getline(stream, field, ',');) {
    const std::optional<int64_t> v = parse_decimal_int(field);
    if (!v || *v < int64_t(low) || *v > int64_t(high))
      throw InvalidInput("bad " + option + " '" + text + "': expected decimal integers in [" +
                         std::to_string(low) + ", " + std::to_string(high) +
                         "] separated by commas");
    values.push_back(T(*v));
  }
  return values;
}

std::string cell(const engine::MethodStats& s) {
  char text[64];
  if (s.per_seed.size() > 1)
    std::snprintf(text, sizeof text, "%.2f ± %.2f", s.mean, s.std);
  else
    std::snprintf(text, sizeof text, "%.2f", s.mean);
  return text;
}

std::string per_seed_text(const engine::MethodStats& s) {
  std::string text;
  char v[32];
  for (double e : s.per_seed) {
    std::snprintf(v, sizeof v, "%.2f", e);
    text += (text.empty() ? "" : ", ") + std::string(v);
  }
  return text;
}

nlohmann::json stats_json(const engine::MethodStats& s) {
  return {{"test_error_mean", s.mean}, {"test_error_std", s.std}, {"per_seed", s.per_seed}};
}

void plot(const std::string& dir, const std::string& script) {
  std::string why;
  if (!run_gnuplot(dir,
                   "set terminal pngcairo size 900,560 noenhanced\nset datafile separator "
                   "','\nset grid\n" +
                       script,
                   why))
    std::fprintf(stderr, "swalp: no plots: %s\n", why.c_str());
}

nlohmann::json protocol_json(const engine::ReproduceOptions& o) {
  const engine::TrainOptions& t = o.base;
  return {{"epochs", t.epochs},
          {"swa_start", t.swa_start},
          {"sgd_budget_epochs", t.swa_start},
          {"averaged_epochs", t.epochs - t.swa_start + 1},
          {"schedule",
           "train.py schedule(): lr_init to 50% of swa_start, linear to 1% at 90%, 1% until "
           "swa_start, then swa_lr"},
          {"sgd_schedule",
           "SGD over swa_start epochs: the same decay (the FP32/LP runs' iterate "
           "after epoch swa_start)"},
          {"full_budget_sgd_schedule", "SGD over all epochs: decay 50%..90% to 1%, then 1%"},
          {"lr_init", t.lr_init},
          {"swa_lr", t.swa_lr},
          {"momentum", t.momentum},
          {"weight_decay", t.weight_decay},
          {"batch_size", t.batch_size},
          {"test_batch_size", t.batch_size},
          {"swa_every", t.swa_every},
          {"eval_sgd", "quantized activations (as trained)"},
          {"eval_swa", "fp32 activations; '" + std::string(engine::kSwalpLowPrecision) +
                           "' through the activation quantizers"},
          {"batchnorm", "recomputed from the training set before every evaluation"},
          {"activation_scope", t.quant.activation_scope},
          {"quantize_input", t.quant.quantize_input},
          {"quantize_logits", t.quant.quantize_logits},
          {"matmul_accumulate", t.quant.matmul_accumulate.empty()
                                    ? "fp32 BLAS"
                                    : t.quant.matmul_accumulate + " (low-precision runs)"},
          {"format", o.format},
          {"rounding", o.rounding}};
}

void write_comparison(const std::string& out, const engine::ReproduceOptions& o,
                      const engine::ReproduceResult& r, const std::string& experiment,
                      const std::string& header, const std::string& table,
                      const std::string& sweep_table) {
  nlohmann::json results, sweep = nlohmann::json::array();
  for (const auto& [name, s] : r.methods) results[name] = stats_json(s);
  for (const auto& row : r.sweep)
    sweep.push_back({{"word_length", row.word_length},
                     {"format", row.format},
                     {"SGD-LP", row.sgd_lp},
                     {"SWALP", row.swalp},
                     {engine::kSwalpLowPrecision, row.swalp_lp}});
  const nlohmann::json summary = {{"experiment", experiment},
                                  {"model", o.base.model},
                                  {"word_length", parse_format(o.format).bits},
                                  {"format", o.format},
                                  {"seeds", o.seeds},
                                  {"epochs", o.base.epochs},
                                  {"swa_start", o.base.swa_start},
                                  {"seconds", r.seconds},
                                  {"protocol", protocol_json(o)},
                                  {"results", results},
                                  {"sweep", sweep}};
  io::write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  io::write_file_atomic(out + "/table.md", header + table + sweep_table);
  std::string csv = "run,format,seed," + engine::metrics_csv_header() + "\n";
  for (const auto& run : r.runs)
    for (const auto& m : run.epochs)
      csv += run.name + "," + (run.format.empty() ? "fp32" : run.format) + "," +
             std::to_string(run.seed) + "," + engine::metrics_csv_row(m) + "\n";
  io::write_file_atomic(out + "/metrics.csv", csv);
  // Test error per epoch of the first seed's FP32 and LP runs.
  const engine::RunRecord* fp = nullptr;
  const engine::RunRecord* lp = nullptr;
  for (const auto& run : r.runs) {
    if (run.seed != o.seeds.front()) continue;
    if (run.name == "FP32" && !fp) fp = &run;
    if (run.name == "LP" && run.format == o.format && !lp) lp = &run;
  }
  if (fp && lp) {
    auto value = [](double v) { return v < 0 ? std::string("NaN") : std::to_string(v); };
    std::string curves = "epoch,sgd_fp32,swa_fp32,sgd_lp,swalp\n";
    for (size_t e = 0; e < fp->epochs.size() && e < lp->epochs.size(); ++e)
      curves += std::to_string(e + 1) + "," + value(fp->epochs[e].test_error_sgd) + "," +
                value(fp->epochs[e].test_error_swa) + "," + value(lp->epochs[e].test_error_sgd) +
                "," + value(lp->epochs[e].test_error_swa) + "\n";
    io::write_file_atomic(out + "/curves.csv", curves);
  }
  std::string sweep_csv = "word_length,sgd_lp,swalp,swalp_lp\n";
  for (const auto& row : r.sweep)
    sweep_csv += std::to_string(row.word_length) + "," + std::to_string(row.sgd_lp) + "," +
                 std::to_string(row.swalp) + "," + std::to_string(row.swalp_lp) + "\n";
  if (!r.sweep.empty()) io::write_file_atomic(out + "/sweep.csv", sweep_csv);
  std::string script = "set output 'test_error.png'\nset title 'Test error per epoch (seed " +
                       std::to_string(o.seeds.front()) + ", " + o.format +
                       ")'\nset xlabel 'epoch'\n"
                       "set ylabel 'test error %'\nset key top right\n"
                       "plot 'curves.csv' every ::1 using 1:2 with linespoints title 'SGD-FP32', "
                       "'' every ::1 using 1:3 with linespoints title 'SWA-FP32', "
                       "'' every ::1 using 1:4 with linespoints title 'SGD-LP', "
                       "'' every ::1 using 1:5 with linespoints title 'SWALP'\n";
  if (!r.sweep.empty())
    script += "set output 'word_length.png'\nset title 'Test error against word length (" +
              o.format +
              " family, every site)'\nset xlabel 'word length (bits)'\n"
              "plot 'sweep.csv' every ::1 using 1:2 with linespoints title 'SGD-LP', "
              "'' every ::1 using 1:3 with linespoints title 'SWALP (fp32 activations)', "
              "'' every ::1 using 1:4 with linespoints title 'SWALP (low-precision activations)'\n";
  plot(out, script);
}

void run_comparison(const ReproduceArgs& args, const engine::ReproduceOptions& o,
                    const engine::DataSplits& data, const engine::ReproduceCallbacks& cb,
                    const std::string& experiment) {
  const engine::ReproduceResult r = engine::reproduce(o, data.train, data.test, cb);
  std::string table = "| method | test error % | per seed |\n| --- | --- | --- |\n";
  for (const char* name : {engine::kSgdFp32, engine::kSwaFp32, engine::kSgdLp, engine::kSwalp,
                           engine::kSwalpLowPrecision, engine::kSgdLpFullBudget}) {
    const auto it = r.methods.find(name);
    if (it == r.methods.end()) continue;
    table += std::string("| ") + name + " | " + cell(it->second) + " | " +
             per_seed_text(it->second) + " |\n";
  }
  std::string sweep_table;
  if (!r.sweep.empty()) {
    sweep_table =
        "\n| word length | format | SGD-LP | SWALP | SWALP (low-precision activations) |\n"
        "| --- | --- | --- | --- | --- |\n";
    for (const auto& row : r.sweep) {
      char line[256];
      std::snprintf(line, sizeof line, "| %d | %s | %.2f | %.2f | %.2f |\n", row.word_length,
                    row.format.c_str(), row.sgd_lp, row.swalp, row.swalp_lp);
      sweep_table += line;
    }
  }
  char header[768];
  std::snprintf(header, sizeof header,
                "%s, model %s, %d epochs: SGD read after epoch %d (annealed), averaging from "
                "its end (%d iterates); %s with %s rounding at every site; test batch %d; "
                "seeds %s\n\n",
                experiment.c_str(), o.base.model.c_str(), o.base.epochs, o.base.swa_start,
                o.base.epochs - o.base.swa_start + 1, o.format.c_str(), o.rounding.c_str(),
                o.base.batch_size, args.seeds.c_str());
  std::printf("%s%s%s", header, table.c_str(), sweep_table.c_str());
  if (!args.train.out.empty())
    write_comparison(args.train.out, o, r, experiment, header, table, sweep_table);
}

void run_averaging_study(const ReproduceArgs& args, const engine::ReproduceOptions& o,
                         const engine::DataSplits& data, const engine::ReproduceCallbacks& cb) {
  engine::AveragingStudyOptions options;
  options.run = o;
  options.average_word_lengths =
      parse_list<int>(args.average_word_lengths, "--average-word-lengths", 2, 24);
  options.frequencies = parse_list<int>(args.frequencies, "--frequencies", 0, 1 << 30);
  const engine::AveragingStudy s = engine::study_averaging(options, data.train, data.test, cb);
  auto every_name = [](int k) {
    return k == 0 ? std::string("epoch") : std::to_string(k) + " steps";
  };
  std::string table = "| average kept in |";
  std::string rule = "| --- |";
  for (int k : options.frequencies) table += " every " + every_name(k) + " |", rule += " --- |";
  table += "\n" + rule + "\n";
  std::string csv = "average_format,every,test_error_mean,test_error_std\n";
  nlohmann::json cells = nlohmann::json::array();
  for (size_t i = 0; i < s.cells.size(); ++i) {
    const auto& c = s.cells[i];
    if (i % options.frequencies.size() == 0) table += "| " + c.average_format + " |";
    table += " " + cell(c.test_error) + " |";
    if ((i + 1) % options.frequencies.size() == 0) table += "\n";
    csv += c.average_format + "," + std::to_string(c.every) + "," +
           std::to_string(c.test_error.mean) + "," + std::to_string(c.test_error.std) + "\n";
    cells.push_back({{"average_format", c.average_format},
                     {"every", c.every},
                     {"test_error", stats_json(c.test_error)}});
  }
  const std::string header = "Averaging precision x frequency: " + o.format + " " + o.rounding +
                             " training, model " + o.base.model + ", " +
                             std::to_string(o.base.epochs) +
                             " epochs, averaging from the end of "
                             "epoch " +
                             std::to_string(o.base.swa_start) + ", seeds " + args.seeds +
                             "; SGD-LP " + cell(s.sgd_lp) + "\n\n";
  std::printf("%s%s", header.c_str(), table.c_str());
  if (args.train.out.empty()) return;
  const nlohmann::json summary = {
      {"study", "averaging"}, {"format", o.format},           {"seeds", o.seeds},
      {"seconds", s.seconds}, {"protocol", protocol_json(o)}, {"SGD-LP", stats_json(s.sgd_lp)},
      {"cells", cells}};
  const std::string& out = args.train.out;
  io::write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  io::write_file_atomic(out + "/table.md", header + table);
  io::write_file_atomic(out + "/averaging.csv", csv);
  std::string script =
      "set output 'averaging.png'\nset title 'SWALP test error by precision of the average'\n"
      "set xlabel 'word length of the average (bfp; 32 = fp32)'\nset ylabel 'test error %'\n"
      "plot ";
  for (size_t k = 0; k < options.frequencies.size(); ++k) {
    const int every = options.frequencies[k];
    script += std::string(k ? ", " : "") +
              "'averaging.csv' every ::1 using (strcol(1) eq 'fp32' "
              "? 32 : real(substr(strcol(1), 5, 6))):($2 == " +
              std::to_string(every) + " ? $3 : NaN) with linespoints title 'every " +
              every_name(every) + "'";
  }
  plot(out, script + "\n");
}

void run_format_study(const ReproduceArgs& args, const engine::ReproduceOptions& o,
                      const engine::DataSplits& data, const engine::ReproduceCallbacks& cb) {
  const std::vector<int> widths = parse_list<int>(args.widths, "--widths", 2, 32);
  const engine::FormatStudy s = engine::study_formats(o, widths, data.train, data.test, cb);
  std::string table =
      "| bits | format | SGD-LP | SWALP | SWALP - SGD-LP | SWALP, low-precision activations |\n"
      "| --- | --- | --- | --- | --- | --- |\n";
  table += "| 32 | fp32 | " + cell(s.sgd_fp32) + " | " + cell(s.swa_fp32) + " | | |\n";
  std::string csv = "index,bits,format,sgd_lp,swalp,swalp_lp\n";
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const auto& row = s.rows[i];
    char diff[32];
    std::snprintf(diff, sizeof diff, "%+.2f", row.swalp.mean - row.sgd_lp.mean);
    table += "| " + std::to_string(row.bits) + " | " + row.format + " | " + cell(row.sgd_lp) +
             " | " + cell(row.swalp) + " | " + diff + " | " + cell(row.swalp_lp) + " |\n";
    csv += std::to_string(i) + "," + std::to_string(row.bits) + "," + row.format + "," +
           std::to_string(row.sgd_lp.mean) + "," + std::to_string(row.swalp.mean) + "," +
           std::to_string(row.swalp_lp.mean) + "\n";
    rows.push_back({{"bits", row.bits},
                    {"format", row.format},
                    {"SGD-LP", stats_json(row.sgd_lp)},
                    {"SWALP", stats_json(row.swalp)},
                    {engine::kSwalpLowPrecision, stats_json(row.swalp_lp)}});
  }
  const std::string header = "Formats at every site (" + o.rounding + " rounding), model " +
                             o.base.model + ", " + std::to_string(o.base.epochs) +
                             " epochs, averaging from the end of epoch " +
                             std::to_string(o.base.swa_start) + ", seeds " + args.seeds + "\n\n";
  std::printf("%s%s", header.c_str(), table.c_str());
  if (args.train.out.empty()) return;
  const nlohmann::json summary = {{"study", "formats"},
                                  {"seeds", o.seeds},
                                  {"seconds", s.seconds},
                                  {"protocol", protocol_json(o)},
                                  {"SGD-FP32", stats_json(s.sgd_fp32)},
                                  {"SWA-FP32", stats_json(s.swa_fp32)},
                                  {"rows", rows}};
  const std::string& out = args.train.out;
  io::write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  io::write_file_atomic(out + "/table.md", header + table);
  io::write_file_atomic(out + "/formats.csv", csv);
  plot(out,
       "set output 'formats.png'\nset title 'SGD-LP and SWALP per format'\nset ylabel 'test "
       "error %'\nset xtics rotate by -45\nset key top left\nset style data points\n"
       "plot 'formats.csv' every ::1 using 1:4:xtic(sprintf('%s (%d)', strcol(3), $2)) pt 7 "
       "title 'SGD-LP', '' every ::1 using 1:5 pt 9 title 'SWALP', '' every ::1 using 1:6 pt 5 "
       "title 'SWALP, low-precision activations'\n");
}

}  // namespace

void register_reproduce(CLI::App& app) {
  static ReproduceArgs args;
  auto* cmd = app.add_subcommand(
      "reproduce", "The SWALP comparison under the reference protocol, and the open questions");
  std::map<std::string, CLI::Option*> shared;
  for (const Setting& s : settings_of(args.train)) {
    if (std::find(kSharedKeys.begin(), kSharedKeys.end(), s.key) == kSharedKeys.end()) continue;
    shared[s.key] = std::visit(
        [&](auto* target) {
          if constexpr (std::is_same_v<decltype(target), bool*>)
            return cmd->add_flag(s.flag, *target, s.help);
          else
            return cmd->add_option(s.flag, *target, s.help)->capture_default_str();
        },
        s.target);
  }
  // Defaults of the embedded comparison (the train table's are those of one run).
  args.train.options.epochs = 15;
  cmd->add_option("--experiment", args.experiment, "Alias of --data");
  cmd->add_option("--out", args.train.out, "Directory for summary.json, table.md, CSVs and PNGs");
  cmd->add_option("--preset", args.preset,
                  "The reference's runs: cifar10-vgg16 | cifar100-vgg16 | cifar10-preresnet164 | "
                  "cifar100-preresnet164 (with --data cifarN:DIR; GPU runs)");
  cmd->add_option("--study", args.study, "comparison | averaging | formats")->capture_default_str();
  cmd->add_option("--format", args.format, "Format at every site of the low-precision runs")
      ->capture_default_str();
  cmd->add_option("--word-length", args.word_length,
                  "Word length of the main comparison (bfp/int: replaces the format's)")
      ->check(CLI::Range(2, 32));
  cmd->add_option("--word-lengths", args.word_lengths,
                  "Sweep of word lengths, first seed (empty: none)")
      ->capture_default_str();
  cmd->add_option("--rounding", args.rounding, "Rounding of every quantizer")
      ->capture_default_str();
  cmd->add_option("--seeds", args.seeds, "Seeds, comma-separated (mean ± std over them)")
      ->capture_default_str();
  cmd->add_flag("--no-full-budget", args.no_full_budget,
                "Skip the SGD-LP run with the SGD schedule over all epochs");
  cmd->add_option("--widths", args.widths, "Study formats: widths compared (8, 6)")
      ->capture_default_str();
  cmd->add_option("--average-word-lengths", args.average_word_lengths,
                  "Study averaging: bfp word lengths of the average (fp32 always)")
      ->capture_default_str();
  cmd->add_option("--frequencies", args.frequencies,
                  "Study averaging: average every K steps (0: once per epoch)")
      ->capture_default_str();
  cmd->add_option("--threads", args.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->callback([shared] {
    using namespace engine;
    TrainArgs& t = args.train;
    TrainOptions& base = t.options;
    const auto given = [&](const char* key) { return shared.at(key)->count() > 0; };
    if (!args.experiment.empty()) {
      if (given("data")) throw InvalidInput("give --data or --experiment, not both");
      t.data = args.experiment;
    }
    if (!args.preset.empty()) {
      const Preset* preset = nullptr;
      std::string names;
      for (const Preset& p : kPresets) {
        names += (names.empty() ? "" : ", ") + std::string(p.name);
        if (args.preset == p.name) preset = &p;
      }
      if (!preset) throw InvalidInput("unknown preset '" + args.preset + "'; accepted: " + names);
      const std::string family = std::string(preset->data) + ":";
      if (t.data.rfind(family, 0) != 0)
        throw InvalidInput("preset " + args.preset + " trains on " + preset->data +
                           ": give --data " + preset->data + ":DIR (the binary version's files)");
      // The script's values, under any flag the user gave.
      if (!given("model")) base.model = preset->model;
      if (!given("epochs")) base.epochs = preset->epochs;
      if (!given("swa_start")) base.swa_start = preset->swa_start;
      if (!given("lr_init")) base.lr_init = preset->lr_init;
      if (!given("swa_lr")) base.swa_lr = preset->swa_lr;
      if (!given("weight_decay")) base.weight_decay = preset->weight_decay;
    }
    if (!given("swa_start") && args.preset.empty())
      base.swa_start = std::max(1, int(std::lround(2.0 * base.epochs / 3.0)));  // 200 of 300
    ReproduceOptions o;
    o.format = args.format;
    if (args.word_length > 0) o.format = with_word_length(args.format, args.word_length);
    o.rounding = args.rounding;
    o.seeds = parse_list<uint64_t>(args.seeds, "--seeds", 0, (uint64_t(1) << 62));
    o.word_lengths = parse_list<int>(args.word_lengths, "--word-lengths", 2, 24);
    o.full_budget_baseline = !args.no_full_budget;
    const std::vector<std::string> studies = {"comparison", "averaging", "formats"};
    if (std::find(studies.begin(), studies.end(), args.study) == studies.end())
      throw InvalidInput("bad --study '" + args.study +
                         "'; accepted: comparison, averaging, formats");
    if (args.study != "comparison") o.word_lengths.clear();
    resolve_device(base.device);
    make_model(base.model, {}, t.data.rfind("cifar", 0) == 0 ? 3 : 1,
               t.data.rfind("cifar100", 0) == 0 ? 100 : 10);  // validates the name
    if (args.study == "formats" && parse_list<int>(args.widths, "--widths", 2, 32).empty())
      throw InvalidInput("--widths is empty; accepted: 8, 6 or both");
    o.base = base;
    validate(o);  // everything checked before the data loads and the first run starts
    // The output directory is ours, and writable, before hours of training start.
    std::optional<io::DirectoryLock> out_lock;
    if (!t.out.empty()) out_lock.emplace(t.out);
    configure_threads(args.threads);
    const DataSplits data = load_data(t.data, t.limit_train, t.limit_test);
    o.base.in_channels = data.channels();
    o.base.classes = data.train.classes;
    o.base.augment = t.data.rfind("cifar", 0) == 0;  // the reference augments CIFAR
    TrainingProgress progress;
    ReproduceCallbacks cb;
    cb.on_run = [&](const std::string& name, const std::string& format, uint64_t seed) {
      std::fprintf(stderr, "swalp: %s (%s, seed %llu): %d epochs on %lld examples\n", name.c_str(),
                   format.empty() ? "fp32" : format.c_str(), static_cast<unsigned long long>(seed),
                   o.base.epochs, static_cast<long long>(data.train.size()));
    };
    cb.on_epoch = [&](const EpochMetrics& m) { progress.on_epoch(m); };
    cb.on_step = [&](const StepProgress& p) { progress.on_step(p); };
    if (args.study == "averaging")
      run_averaging_study(args, o, data, cb);
    else if (args.study == "formats")
      run_format_study(args, o, data, cb);
    else
      run_comparison(args, o, data, cb, t.data);
  });
}

}  // namespace swalp::cli
