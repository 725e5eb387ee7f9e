// `swalp reproduce` as data: the SWALP comparison under the reference protocol (github
// stevenygd/SWALP train.py), the word-length sweep, and the two studies the paper leaves open
// (averaging precision x frequency, number formats). The CLI only formats the result.
//
// Protocol (docs/results.md states each choice with the reference line it follows):
//  - FP32 run, schedule "swa" (train.py schedule()): SGD-FP32 is its iterate after epoch
//    swa_start, which has had the SGD schedule of the SWA repository over a budget of swa_start
//    epochs (constant, linear decay to 1% between 50% and 90%, then 1%), i.e. its own annealed
//    run: nothing after epoch swa_start can change it. SWA-FP32 is its average after the last
//    epoch.
//  - Low-precision run, same schedule: SGD-LP is its iterate after epoch swa_start, evaluated as
//    trained (quantized activations); SWALP its average after the last epoch, evaluated with
//    full-precision activations (the reference's swa_model) and, labelled, through the activation
//    quantizers ("deployed in low precision").
//  - SGD-LP (full budget): a low-precision run with the SGD schedule over all epochs, so the
//    averaging phase's extra epochs are not hidden.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "train/dataset.h"
#include "train/trainer.h"

namespace swalp::engine {

// The labels of the comparison's rows, in table order. The first four are DESIGN's keys.
inline constexpr const char* kSgdFp32 = "SGD-FP32";
inline constexpr const char* kSwaFp32 = "SWA-FP32";
inline constexpr const char* kSgdLp = "SGD-LP";
inline constexpr const char* kSwalp = "SWALP";
inline constexpr const char* kSwalpLowPrecision = "SWALP (low-precision activations)";
inline constexpr const char* kSgdLpFullBudget = "SGD-LP (full budget)";

struct ReproduceOptions {
  TrainOptions base;  // model, epochs, swa_start, rates, batch, momentum, decay, device, eval...
  std::string format = "bfp:8";  // every site of the low-precision runs
  std::string rounding = "stochastic";
  std::vector<uint64_t> seeds = {1, 2, 3};
  std::vector<int> word_lengths;  // sweep of the format's word length (bfp, int), first seed
  bool full_budget_baseline = true;
};

// One training run of the protocol, for metrics.csv.
struct RunRecord {
  std::string name, format;  // "FP32", "LP", "LP-SGD"; "" for fp32
  uint64_t seed = 0;
  std::vector<EpochMetrics> epochs;
};

struct MethodStats {
  std::vector<double> per_seed;
  double mean = 0, std = 0;  // sample standard deviation (0 for one seed)
};

struct SweepRow {
  int word_length = 0;
  std::string format;
  double sgd_lp = 0, swalp = 0, swalp_lp = -1;
};

struct ReproduceResult {
  std::map<std::string, MethodStats> methods;  // by the labels above
  std::vector<SweepRow> sweep;                 // sorted by word length, the main one included
  std::vector<RunRecord> runs;
  double seconds = 0;
};

// Called before each training run with its name, format ("" = fp32) and seed.
using RunStarted =
    std::function<void(const std::string& name, const std::string& format, uint64_t seed)>;
struct ReproduceCallbacks {
  RunStarted on_run;
  std::function<void(const EpochMetrics&)> on_epoch;
  std::function<void(const StepProgress&)> on_step;
};

// Throws InvalidInput for bad options before any training starts: swa_start outside
// [1, epochs), no seeds, repeated seeds, a sweep word length the format cannot take, a bad format.
void validate(const ReproduceOptions& options);
ReproduceResult reproduce(const ReproduceOptions& options, const Dataset& train_set,
                          const Dataset& test_set, const ReproduceCallbacks& callbacks = {});

// The format spelling with another word length: bfp:WL[:SCOPE] and int:B[:SCOPE] only; throws
// InvalidInput naming the families that have one.
std::string with_word_length(const std::string& format, int word_length);

// ---- The paper's open questions ---------------------------------------------------------------

// Averaging precision x frequency: one low-precision run (the trajectory is shared: averages never
// change the training), the average kept in each format (fp32 and bfp of each word length) and
// updated at each frequency (0: once per epoch, else every K steps of the constant-rate phase).
struct AveragingStudyOptions {
  ReproduceOptions run;  // format, seeds (each seed one run), schedule
  std::vector<int> average_word_lengths = {16, 14, 12, 10, 8};
  std::vector<int> frequencies = {0, 100, 10, 1};
};
struct AveragingCell {
  std::string average_format;  // "fp32" or bfp:WL
  int every = 0;
  MethodStats test_error;
};
struct AveragingStudy {
  MethodStats sgd_lp;
  std::vector<AveragingCell> cells;  // formats outer, frequencies inner
  double seconds = 0;
};
AveragingStudy study_averaging(const AveragingStudyOptions& options, const Dataset& train_set,
                               const Dataset& test_set, const ReproduceCallbacks& callbacks = {});

// Formats: SGD-LP and SWALP for each format at every site, at each width.
struct FormatStudyRow {
  int bits = 0;
  std::string format;
  MethodStats sgd_lp, swalp, swalp_lp;  // swalp_lp: through the activation quantizers
};
struct FormatStudy {
  MethodStats sgd_fp32, swa_fp32;
  std::vector<FormatStudyRow> rows;
  double seconds = 0;
};
// The formats compared at `bits` (8 or 6): bfp per channel, bfp per block of 32, the OCP floats
// of that width, MX with an element of that width, int, fixed point.
std::vector<std::string> formats_compared(int bits);
FormatStudy study_formats(const ReproduceOptions& options, const std::vector<int>& widths,
                          const Dataset& train_set, const Dataset& test_set,
                          const ReproduceCallbacks& callbacks = {});

MethodStats stats_of(const std::vector<double>& values);

}  // namespace swalp::engine
