// One training run: low-precision SGD (any site may stay fp32), the SWALP reference's learning
// rate schedule, stochastic weight averaging of the iterates, and per-epoch evaluation of the
// SGD and averaged models, as the reference train.py does it (github stevenygd/SWALP).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "train/dataset.h"

namespace swalp::engine {

// Format spelling per quantization site ("" = fp32). A shared-scale spelling without a scope
// gets the reference's (models/quantizer.py block_quantize with small_block FC, block_dim B):
// per output channel (row) for weights, gradients, momentum and accumulator of parameters with
// 2 or more dimensions, the whole tensor for 1-D parameters, activations and errors
// (`activation_scope` "sample" gives activations and errors one scale per example instead, as
// QPyTorch's BlockFloatingPoint(dim=0) does).
struct QuantPlan {
  std::string weight, grad, momentum, accumulator, activation, error;
  std::string rounding = "stochastic";
  // Format of the running SWA average itself ("" = fp32), quantized after every update with
  // `rounding`; a shared-scale spelling without a scope gets the per-channel scopes above.
  std::string swa;
  std::string activation_scope = "tensor";  // tensor | sample (for scope-less spellings)
  bool quantize_input = false, quantize_logits = false;  // the references quantize neither
  // Accumulation spec of every linear and convolution product (swalp/matmul.h; "" = fp32 BLAS),
  // forward and backward, with the run's seed; CPU only.
  std::string matmul_accumulate;
  bool any() const;
  // Sets the six sites to one spelling ("" = fp32), keeping the average's format, the rounding,
  // the activation scope and the input/logit switches.
  void set_sites(const std::string& spelling);
  // All sites in one format, as in the paper (e.g. "bfp:8").
  static QuantPlan uniform(const std::string& spelling, const std::string& rounding = "stochastic");
};

// Data parallelism: averages the gradients of the workers between backward and the optimizer
// step (engine/distributed implements it over MPI). Every worker must call in the same order.
class GradientExchange {
 public:
  virtual ~GradientExchange() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Replaces each gradient by the workers' average (identical on every worker afterwards).
  virtual void average(std::vector<at::Tensor>& gradients) = 0;
  // True iff `local` is true on every worker (so that all stop together on a NaN loss).
  virtual bool all(bool local) = 0;
  // Throws RuntimeFailure naming the step when the workers' parameters differ.
  virtual void check_in_sync(const std::vector<at::Tensor>& parameters, uint64_t step) = 0;
  // Bytes this worker has put on the wire so far (gradient payload and scales).
  virtual uint64_t bytes_sent() const = 0;
  // State carried from step to step (error-feedback residuals), for checkpoints. Collective:
  // every worker calls it; worker 0 gets one flat float tensor per worker, the others nothing.
  // Empty when there is no such state.
  virtual std::vector<at::Tensor> gather_state() { return {}; }
  // Takes this worker's part back from every worker's tensors as gather_state returned them;
  // throws InvalidInput when they come from another number of workers.
  virtual void restore_state(const std::vector<at::Tensor>& all_workers) { (void)all_workers; }
};

// An extra average kept beside the run's own, for studies of the averaging itself: its format
// ("" = fp32) and frequency (every K steps of the constant-rate phase; 0: once per epoch). It
// never changes the training; it is evaluated once, after the last epoch, with fp32 activations.
struct ExtraAverage {
  std::string format;
  int every = 0;
};

struct TrainOptions {
  std::string model = "mlp";
  int epochs = 10;
  int batch_size = 128;
  double lr_init = 0.05, swa_lr = 0.01, momentum = 0.9, weight_decay = 5e-4;
  // "swa": the reference's schedule() (see swa_learning_rate); the iterate after epoch
  // swa_start (1-based) is the first one averaged. "sgd": plain SGD over all epochs (constant,
  // linear decay to 1% of lr_init between 50% and 90% of them, then 1%), nothing averaged.
  std::string schedule = "swa";
  int swa_start = 7;  // epochs of the decaying phase; averaging from the end of this epoch on
  int swa_every = 0;  // average every this many steps once averaging started; 0: once per epoch
  std::vector<ExtraAverage> extra_averages;  // not checkpointed: refused with `checkpoint`
  uint64_t seed = 1;
  QuantPlan quant;
  int64_t in_channels = 1, classes = 10;  // of the data
  bool augment = false;                   // random crop (padding 4) and flip per batch
  // How the averaged model is evaluated: "fp32" (activations in full precision, the reference's
  // swa_model), "quantized" (through the activation quantizers: deployed in low precision) or
  // "both". The SGD iterate is always evaluated as it trained. Test batches have batch_size
  // examples, as the reference's loader; BatchNorm statistics are recomputed before each
  // evaluation (reference utils.bn_update).
  std::string eval = "fp32";
  // Checkpoint file rewritten atomically after every epoch ("" = none). When it exists at the
  // start, the run resumes from it and continues bit for bit.
  std::string checkpoint;
  // The run's settings as "key = value" lines (a run's config.toml): stored in the checkpoint,
  // which a run with other settings refuses to resume, naming the keys that differ.
  std::string settings;
  int stop_after_epochs = 0;  // > 0: stop (as if killed) after this many epochs of this call
  // Where the model trains: "cpu", "cuda" (the current CUDA device; an error where libtorch has
  // no CUDA or sees no GPU) or "auto" (cuda where available, else cpu). Data, shuffling and
  // checkpoints stay on the CPU; checkpoints load on either device.
  std::string device = "cpu";
  // Data parallel: each worker takes its slice of every global batch; gradients are averaged
  // through the exchange; only rank 0 writes the checkpoint. Null: one process.
  std::shared_ptr<GradientExchange> exchange;
};

// One epoch's row of metrics.csv; the columns are listed once, in train/metrics.h. Test errors
// in percent, -1 where not evaluated.
struct EpochMetrics {
  int epoch = 0;
  double lr = 0, train_loss = 0, train_error = 0, test_error_sgd = 0;
  double test_error_swa = -1;     // the average, full-precision activations
  double test_error_swa_lp = -1;  // the average through the activation quantizers
  double seconds = 0;
};

// Where a run is inside an epoch, for progress bars: batches done of the epoch's total.
struct StepProgress {
  int epoch = 0, epochs = 0;
  int64_t batch = 0, batches = 0;
  double loss = 0;  // mean training loss of the epoch so far
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;                // all epochs, resumed ones included
  bool finished = false;                           // false when stop_after_epochs stopped it early
  double test_error_sgd = 0, test_error_swa = -1;  // percent; -1: no average yet
  double test_error_swa_lp = -1;                   // -1: not evaluated
  std::vector<double> extra_average_errors;        // per TrainOptions::extra_averages
  double seconds = 0;
  uint64_t steps = 0;  // optimizer steps so far, resumed ones included
  // CRC-32 of the final weights, buffers, optimizer state and SWA average: equal for two runs
  // iff (almost surely) they end in the same bits.
  int64_t state_checksum = 0;
};

class LowPrecisionNet;

// The model and its optimizers for one run: one step at a time. train() drives it; benchmarks
// time it.
class TrainingState {
 public:
  explicit TrainingState(const TrainOptions& options);
  ~TrainingState();
  // One step on a batch at learning rate lr; returns the batch loss (before the update) and the
  // logits. Throws RuntimeFailure when the loss is NaN or Inf.
  std::pair<double, at::Tensor> step(const at::Tensor& images, const at::Tensor& labels, double lr);
  LowPrecisionNet& model();
  std::vector<at::Tensor> parameters() const;
  uint64_t steps() const { return steps_; }
  // Model parameters and buffers and each optimizer's own entries, as named CPU tensors.
  std::vector<std::pair<std::string, at::Tensor>> state_tensors() const;
  // Restores from the entries `read` returns by name (it throws for a missing one); throws
  // InvalidInput for an entry that does not fit. Nothing changes unless every entry fits.
  void restore(const std::function<at::Tensor(const std::string&)>& read);

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
  uint64_t steps_ = 0;
};

// Learning rate of `epoch` (0-based). Schedule "swa", the reference train.py schedule(): with
// t = epoch / swa_start, lr_init for t <= 0.5, linear decay to 1% of lr_init at t = 0.9, 1% until
// t < 1, then swa_lr (swa_start 0: swa_lr throughout). Schedule "sgd": the same shape with
// t = epoch / epochs and 1% to the end.
double swa_learning_rate(const TrainOptions& options, int epoch);
// Whether the iterate after `epoch` (0-based) joins the average.
bool averages_after(const TrainOptions& options, int epoch);

// The accepted values of TrainOptions::schedule and QuantPlan::activation_scope.
const std::vector<std::string>& schedules();
const std::vector<std::string>& activation_scopes();

// Reads checkpoints into one training state of `options` (model, formats), built once, and
// returns the epochs each records: what --resume does before training on (for tools and
// fuzzing). read() throws InvalidInput naming the problem for a corrupt, truncated or foreign
// file.
class CheckpointReader {
 public:
  explicit CheckpointReader(const TrainOptions& options);
  ~CheckpointReader();
  std::vector<EpochMetrics> read(const std::string& path);

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

// Trains; `on_epoch` sees the metrics of every epoch so far (resumed ones included) after each
// epoch, the new one last. Throws RuntimeFailure if the loss becomes NaN
// or Inf, InvalidInput for bad options (naming the accepted values).
// `on_step` sees every step's progress.
TrainResult train(const TrainOptions& options, const Dataset& train_set, const Dataset& test_set,
                  const std::function<void(const std::vector<EpochMetrics>&)>& on_epoch = {},
                  const std::function<void(const StepProgress&)>& on_step = {});

// The accepted values of TrainOptions::eval.
const std::vector<std::string>& eval_modes();

// Throws InvalidInput naming the option, its value and the accepted values or range when an
// option is out of range (epochs, rates, momentum, weight decay, swa_start, modes, formats).
void validate(const TrainOptions& options);

// The device a TrainOptions::device spelling stands for on this machine; throws InvalidInput for
// a bad spelling (naming the accepted ones) or "cuda" where libtorch has no usable GPU.
at::Device resolve_device(const std::string& spelling);

}  // namespace swalp::engine
