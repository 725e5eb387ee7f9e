#include "train/reproduce.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp::engine {

MethodStats stats_of(const std::vector<double>& values) {
  MethodStats s;
  s.per_seed = values;
  for (double v : values) s.mean += v / double(values.size());
  for (double v : values) s.std += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(s.std / double(values.size() - 1)) : 0.0;
  return s;
}

std::string with_word_length(const std::string& format, int word_length) {
  const Format f = parse_format(format);
  if (f.kind != FormatKind::kBlockFloat && f.kind != FormatKind::kInt)
    throw InvalidInput("a word-length sweep needs a bfp:WL or int:B format (got '" + format +
                       "'); give --word-lengths '' to skip it");
  const std::string head = f.kind == FormatKind::kBlockFloat ? "bfp" : "int";
  return head + ":" + std::to_string(word_length) +
         (names_scope(format) ? ":" + f.scope_name() : std::string());
}

void validate(const ReproduceOptions& o) {
  validate(o.base);
  if (o.base.schedule != "swa") throw InvalidInput("reproduce runs the swa schedule");
  if (o.base.swa_start < 1 || o.base.swa_start >= o.base.epochs)
    throw InvalidInput("swa_start " + std::to_string(o.base.swa_start) +
                       " must be in [1, epochs - 1] = [1, " + std::to_string(o.base.epochs - 1) +
                       "]: SGD-LP is read after it and at least one epoch is averaged");
  if (o.seeds.empty()) throw InvalidInput("no seeds; give at least one (e.g. --seeds 1,2,3)");
  if (std::set<uint64_t>(o.seeds.begin(), o.seeds.end()).size() != o.seeds.size())
    throw InvalidInput(
        "repeated seeds: each seed must appear once (the spread over seeds "
        "would be understated)");
  make_quant_spec(o.format, o.rounding);
  for (int wl : o.word_lengths) {
    if (wl < 2 || wl > 24)
      throw InvalidInput("bad sweep word length " + std::to_string(wl) + "; accepted: 2..24");
    make_quant_spec(with_word_length(o.format, wl), o.rounding);
  }
}

namespace {

TrainOptions run_options(const ReproduceOptions& o, const std::string& format, uint64_t seed,
                         const std::string& schedule) {
  TrainOptions t = o.base;
  t.seed = seed;
  t.schedule = schedule;
  t.quant.set_sites(format);
  t.quant.rounding = o.rounding;
  // The fp32 baseline keeps fp32 products too; low-precision runs round their sums if asked.
  if (format.empty()) t.quant.matmul_accumulate.clear();
  t.checkpoint.clear();
  return t;
}

TrainResult run(const std::string& name, const TrainOptions& t, const std::string& format,
                const Dataset& train_set, const Dataset& test_set, const ReproduceCallbacks& cb,
                std::vector<RunRecord>* records) {
  if (cb.on_run) cb.on_run(name, format, t.seed);
  TrainResult r = train(
      t, train_set, test_set,
      [&](const std::vector<EpochMetrics>& epochs) {
        if (cb.on_epoch) cb.on_epoch(epochs.back());
      },
      cb.on_step);
  if (records) records->push_back({name, format, t.seed, r.epochs});
  return r;
}

// The iterate's test error after epoch swa_start (1-based): the annealed SGD reading.
double at_swa_start(const TrainOptions& t, const TrainResult& r) {
  return r.epochs.at(size_t(t.swa_start - 1)).test_error_sgd;
}

// A low-precision run of the protocol: SGD-LP after epoch swa_start, SWALP after the last epoch
// with fp32 activations and through the activation quantizers.
SweepRow low_precision_row(const ReproduceOptions& o, const std::string& format, uint64_t seed,
                           const Dataset& train_set, const Dataset& test_set,
                           const ReproduceCallbacks& cb, std::vector<RunRecord>* records) {
  TrainOptions lp = run_options(o, format, seed, "swa");
  if (lp.eval == "fp32") lp.eval = "both";  // the labelled low-precision column too
  const TrainResult l = run("LP", lp, format, train_set, test_set, cb, records);
  return {parse_format(format).bits, format, at_swa_start(lp, l), l.test_error_swa,
          l.test_error_swa_lp};
}

}  // namespace

ReproduceResult reproduce(const ReproduceOptions& o, const Dataset& train_set,
                          const Dataset& test_set, const ReproduceCallbacks& cb) {
  validate(o);
  const auto start = std::chrono::steady_clock::now();
  ReproduceResult result;
  std::map<std::string, std::vector<double>> errors;
  for (uint64_t seed : o.seeds) {
    const TrainOptions fp = run_options(o, "", seed, "swa");
    const TrainResult f = run("FP32", fp, "", train_set, test_set, cb, &result.runs);
    errors[kSgdFp32].push_back(at_swa_start(fp, f));
    errors[kSwaFp32].push_back(f.test_error_swa >= 0 ? f.test_error_swa : f.test_error_swa_lp);
    const SweepRow lp = low_precision_row(o, o.format, seed, train_set, test_set, cb, &result.runs);
    errors[kSgdLp].push_back(lp.sgd_lp);
    if (lp.swalp >= 0) errors[kSwalp].push_back(lp.swalp);
    if (lp.swalp_lp >= 0) errors[kSwalpLowPrecision].push_back(lp.swalp_lp);
    if (o.full_budget_baseline) {
      const TrainOptions sgd = run_options(o, o.format, seed, "sgd");
      const TrainResult s = run("LP-SGD", sgd, o.format, train_set, test_set, cb, &result.runs);
      errors[kSgdLpFullBudget].push_back(s.test_error_sgd);
    }
    if (seed == o.seeds.front() && !o.word_lengths.empty()) result.sweep.push_back(lp);
  }
  for (const auto& [name, values] : errors) result.methods[name] = stats_of(values);
  for (int wl : o.word_lengths)
    if (wl != parse_format(o.format).bits)
      result.sweep.push_back(low_precision_row(o, with_word_length(o.format, wl), o.seeds.front(),
                                               train_set, test_set, cb, &result.runs));
  std::sort(result.sweep.begin(), result.sweep.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.word_length < b.word_length; });
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

AveragingStudy study_averaging(const AveragingStudyOptions& options, const Dataset& train_set,
                               const Dataset& test_set, const ReproduceCallbacks& cb) {
  const ReproduceOptions& o = options.run;
  validate(o);
  if (options.frequencies.empty() || options.average_word_lengths.empty())
    throw InvalidInput("the averaging study needs at least one word length and one frequency");
  std::vector<std::string> formats = {""};
  for (int wl : options.average_word_lengths) {
    if (wl < 2 || wl > 24)
      throw InvalidInput("bad average word length " + std::to_string(wl) + "; accepted: 2..24");
    formats.push_back("bfp:" + std::to_string(wl));
  }
  for (int k : options.frequencies)
    if (k < 0)
      throw InvalidInput("bad averaging frequency " + std::to_string(k) + "; accepted: >= 0");
  const auto start = std::chrono::steady_clock::now();
  AveragingStudy study;
  std::vector<double> sgd;
  std::vector<std::vector<double>> cells(formats.size() * options.frequencies.size());
  for (uint64_t seed : o.seeds) {
    TrainOptions t = run_options(o, o.format, seed, "swa");
    for (const std::string& format : formats)
      for (int k : options.frequencies) t.extra_averages.push_back({format, k});
    const TrainResult r = run("LP", t, o.format, train_set, test_set, cb, nullptr);
    sgd.push_back(at_swa_start(t, r));
    for (size_t c = 0; c < cells.size(); ++c) cells[c].push_back(r.extra_average_errors.at(c));
  }
  study.sgd_lp = stats_of(sgd);
  for (size_t f = 0; f < formats.size(); ++f)
    for (size_t k = 0; k < options.frequencies.size(); ++k)
      study.cells.push_back({formats[f].empty() ? "fp32" : formats[f], options.frequencies[k],
                             stats_of(cells[f * options.frequencies.size() + k])});
  study.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return study;
}

std::vector<std::string> formats_compared(int bits) {
  if (bits == 8)
    return {"bfp:8", "bfp:8:block32", "fp8e4m3", "fp8e5m2", "mx:fp8e4m3", "int:8", "fixed:8:6"};
  if (bits == 6)
    return {"bfp:6", "bfp:6:block32", "fp6e3m2", "fp6e2m3", "mx:fp6e3m2", "int:6", "fixed:6:4"};
  throw InvalidInput("the format study compares 8 or 6 bits (got " + std::to_string(bits) + ")");
}

FormatStudy study_formats(const ReproduceOptions& o, const std::vector<int>& widths,
                          const Dataset& train_set, const Dataset& test_set,
                          const ReproduceCallbacks& cb) {
  validate(o);
  for (int bits : widths) formats_compared(bits);  // validates the widths before any run
  const auto start = std::chrono::steady_clock::now();
  FormatStudy study;
  std::vector<double> sgd_fp, swa_fp;
  for (uint64_t seed : o.seeds) {
    const TrainOptions fp = run_options(o, "", seed, "swa");
    const TrainResult f = run("FP32", fp, "", train_set, test_set, cb, nullptr);
    sgd_fp.push_back(at_swa_start(fp, f));
    swa_fp.push_back(f.test_error_swa);
  }
  study.sgd_fp32 = stats_of(sgd_fp);
  study.swa_fp32 = stats_of(swa_fp);
  for (int bits : widths)
    for (const std::string& format : formats_compared(bits)) {
      std::vector<double> sgd, swa, swa_lp;
      for (uint64_t seed : o.seeds) {
        const SweepRow lp = low_precision_row(o, format, seed, train_set, test_set, cb, nullptr);
        sgd.push_back(lp.sgd_lp);
        swa.push_back(lp.swalp);
        swa_lp.push_back(lp.swalp_lp);
      }
      study.rows.push_back({bits, format, stats_of(sgd), stats_of(swa), stats_of(swa_lp)});
    }
  study.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return study;
}

}  // namespace swalp::engine
