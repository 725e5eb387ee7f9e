#include "train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/functional/loss.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "swalp/error.h"
#include "swalp/rounding.h"
#include "swalp/torch/lp_sgd.h"
#include "swalp/torch/streams.h"
#include "swalp/torch/swa.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/models.h"

namespace swalp::engine {

bool QuantPlan::any() const {
  return !(weight.empty() && grad.empty() && momentum.empty() && accumulator.empty() &&
           activation.empty() && error.empty() && swa.empty() && matmul_accumulate.empty());
}

void QuantPlan::set_sites(const std::string& spelling) {
  weight = grad = momentum = accumulator = activation = error = spelling;
}

QuantPlan QuantPlan::uniform(const std::string& spelling, const std::string& rounding) {
  QuantPlan plan;
  plan.set_sites(spelling);
  plan.rounding = rounding;
  return plan;
}

namespace {

// The spec of one site. A shared-scale spelling that names no scope gets one scale per row
// (output channel of a parameter, example of an activation) when `per_row`, else per tensor.
// MX and NVFP4 keep their blocks.
std::optional<QuantSpec> site_spec(const std::string& spelling, const std::string& rounding,
                                   bool per_row, uint64_t seed) {
  if (spelling.empty()) return std::nullopt;
  QuantSpec spec = make_quant_spec(spelling, rounding, seed);
  if (per_row && spec.format.shares_scale() && !spec.format.block_scope_only() &&
      !names_scope(spelling))
    spec.format = with_scope(spec.format, Scope{ScopeKind::kRow, 0});
  return spec;
}

// Which evaluation of an epoch draws which streams (streams.h evaluation_counter).
enum Evaluation : uint64_t { kEvalSgd = 0, kEvalAverageFp32 = 1, kEvalAverageQuantized = 2 };

// Percent of `test` misclassified, in batches of batch_size, with the activation quantizers on
// or off; BatchNorm statistics recomputed first from `train` (reference utils.py bn_update,
// before every evaluation in train.py).
double evaluate(LowPrecisionNet& model, const Dataset& train, const Dataset& test,
                int64_t batch_size, bool quantized, uint64_t epoch, Evaluation evaluation) {
  c10::NoGradGuard no_grad;
  model.set_quantizers_enabled(quantized);
  update_batchnorm(model, train.images, batch_size, epoch, evaluation);
  model.eval();
  int64_t wrong = 0;
  const at::Device device = device_of(model);
  for (int64_t begin = 0, batch = 0; begin < test.size(); begin += batch_size, ++batch) {
    model.set_stream_context(torchq::Pass::kEvaluation,
                             torchq::evaluation_counter(epoch, evaluation, uint64_t(batch)));
    const int64_t end = std::min<int64_t>(test.size(), begin + batch_size);
    const at::Tensor logits = model.forward(test.images.slice(0, begin, end).to(device));
    wrong += logits.argmax(1).cpu().ne(test.labels.slice(0, begin, end)).sum().item<int64_t>();
  }
  model.train();
  model.set_quantizers_enabled(true);
  return 100.0 * double(wrong) / double(test.size());
}

// Evaluates the average swapped into the model; the SGD weights and BatchNorm statistics are
// put back afterwards.
double evaluate_average(LowPrecisionNet& model, torchq::SwaAverager& average, const Dataset& train,
                        const Dataset& test, int64_t batch_size, bool quantized, uint64_t epoch,
                        Evaluation evaluation) {
  std::vector<at::Tensor> sgd_buffers;
  for (const at::Tensor& b : model.buffers()) sgd_buffers.push_back(b.clone());
  average.swap_in();
  const double error = evaluate(model, train, test, batch_size, quantized, epoch, evaluation);
  average.swap_in();
  c10::NoGradGuard no_grad;
  const auto buffers = model.buffers();
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(sgd_buffers[i]);
  return error;
}

// An average and when it takes an iterate: every `every` steps of the constant-rate phase, or
// (every = 0) at the end of each averaged epoch; and always at the end of the first averaged
// epoch, so that the annealed iterate of epoch swa_start is the first one averaged.
struct ScheduledAverage {
  torchq::SwaAverager averager;
  int every = 0;
  void after_step(uint64_t constant_phase_steps) {
    if (every > 0 && constant_phase_steps % uint64_t(every) == 0) averager.update();
  }
  void after_averaged_epoch() {
    if (every == 0 || averager.count() == 0) averager.update();
  }
};

template <typename T>
void check_one_of(const std::string& what, const T& value, const std::vector<T>& accepted) {
  if (std::find(accepted.begin(), accepted.end(), value) != accepted.end()) return;
  std::string list;
  for (const T& a : accepted) list += (list.empty() ? "" : ", ") + a;
  throw InvalidInput("bad " + what + " '" + value + "'; accepted: " + list);
}

}  // namespace

at::Device resolve_device(const std::string& spelling) {
  if (spelling == "cpu") return at::kCPU;
  if (spelling == "auto") return at::hasCUDA() ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  if (spelling == "cuda") {
    if (!at::hasCUDA())
      throw InvalidInput(
          "device cuda: this libtorch has no CUDA or sees no GPU; accepted here: "
          "cpu, auto");
    return at::kCUDA;
  }
  throw InvalidInput("bad device '" + spelling + "'; accepted: cpu, cuda, auto");
}

const std::vector<std::string>& eval_modes() {
  static const std::vector<std::string> modes = {"fp32", "quantized", "both"};
  return modes;
}

const std::vector<std::string>& schedules() {
  static const std::vector<std::string> names = {"swa", "sgd"};
  return names;
}

const std::vector<std::string>& activation_scopes() {
  static const std::vector<std::string> names = {"tensor", "sample"};
  return names;
}

void validate(const TrainOptions& o) {
  auto range = [](const std::string& name, double value, double low, double high,
                  const char* accepted) {
    if (!(std::isfinite(value) && value >= low && value <= high))
      throw InvalidInput("bad " + name + " " + std::to_string(value) + "; accepted: " + accepted);
  };
  if (o.epochs < 1)
    throw InvalidInput("epochs must be >= 1 (got " + std::to_string(o.epochs) + ")");
  if (o.batch_size < 1) throw InvalidInput("batch size must be >= 1");
  if (!(o.lr_init > 0) || !(o.swa_lr > 0) || !std::isfinite(o.lr_init) || !std::isfinite(o.swa_lr))
    throw InvalidInput("learning rates must be > 0 and finite");
  range("momentum", o.momentum, 0.0, 0.999999, "0 <= momentum < 1");
  range("weight decay", o.weight_decay, 0.0, 1.0, "0 <= weight decay <= 1");
  if (o.seed > uint64_t(std::numeric_limits<int64_t>::max()))
    throw InvalidInput("bad seed " + std::to_string(o.seed) +
                       "; accepted: 0 .. 9223372036854775807 (2^63 - 1, so that config.toml "
                       "reads it back)");
  if (o.swa_start < 0)
    throw InvalidInput("swa_start must be >= 0 (got " + std::to_string(o.swa_start) + ")");
  if (o.swa_every < 0) throw InvalidInput("swa_every must be >= 0 (0: once per epoch)");
  for (const ExtraAverage& extra : o.extra_averages) {
    if (extra.every < 0) throw InvalidInput("an extra average's frequency must be >= 0");
    if (!extra.format.empty()) make_quant_spec(extra.format, o.quant.rounding);
  }
  if (!o.extra_averages.empty() && !o.checkpoint.empty())
    throw InvalidInput("extra averages are not checkpointed: run them without a checkpoint");
  check_one_of("eval", o.eval, eval_modes());
  check_one_of("schedule", o.schedule, schedules());
  check_one_of("activation scope", o.quant.activation_scope, activation_scopes());
  parse_rounding(o.quant.rounding);
  for (const std::string* site :
       {&o.quant.weight, &o.quant.grad, &o.quant.momentum, &o.quant.accumulator,
        &o.quant.activation, &o.quant.error, &o.quant.swa})
    if (!site->empty()) make_quant_spec(*site, o.quant.rounding);
  if (!o.quant.matmul_accumulate.empty()) parse_accumulate(o.quant.matmul_accumulate);
}

double swa_learning_rate(const TrainOptions& o, int epoch) {
  const bool sgd = o.schedule == "sgd";
  const int budget = sgd ? o.epochs : o.swa_start;
  if (budget <= 0) return o.swa_lr;
  const double t = double(epoch) / budget;
  constexpr double kFinalRatio = 0.01;  // train.py schedule(): lr_ratio
  if (!sgd && t >= 1.0) return o.swa_lr;
  const double factor = t <= 0.5   ? 1.0
                        : t <= 0.9 ? 1.0 - (1.0 - kFinalRatio) * (t - 0.5) / 0.4
                                   : kFinalRatio;
  return o.lr_init * factor;
}

bool averages_after(const TrainOptions& o, int epoch) {
  return o.schedule == "swa" && epoch + 1 >= o.swa_start;
}

struct TrainingState::Parts {
  at::Device device = at::kCPU;  // where the model lives
  std::shared_ptr<LowPrecisionNet> model;
  std::shared_ptr<GradientExchange> exchange;
  std::unique_ptr<torchq::LowPrecisionSgd> sgd_matrices, sgd_vectors;
};

TrainingState::TrainingState(const TrainOptions& o) : parts_(std::make_unique<Parts>()) {
  if (o.batch_size < 1) throw InvalidInput("batch size must be >= 1");
  at::manual_seed(o.seed);  // initialization and dropout
  const QuantPlan& plan = o.quant;
  // Every quantizer keys Philox with the run's seed; the stream ids (streams.h) keep them apart.
  const bool per_sample = plan.activation_scope == "sample";
  ActivationQuant activation_quant{site_spec(plan.activation, plan.rounding, per_sample, o.seed),
                                   site_spec(plan.error, plan.rounding, per_sample, o.seed),
                                   plan.quantize_input, plan.quantize_logits, std::nullopt};
  if (!plan.matmul_accumulate.empty())
    activation_quant.accumulate = parse_accumulate(plan.matmul_accumulate, o.seed);
  parts_->model = make_model(o.model, activation_quant, o.in_channels, o.classes);
  parts_->device = resolve_device(o.device);
  if (activation_quant.accumulate && parts_->device != at::Device(at::kCPU))
    throw InvalidInput("matmul_accumulate '" + plan.matmul_accumulate +
                       "' runs on the CPU only; use --device cpu");
  parts_->model->to(parts_->device);
  parts_->exchange = o.exchange;
  // One optimizer per kind of parameter, so that 1-D parameters keep whole-tensor scopes;
  // parameters are numbered matrices first, then vectors, for their random streams.
  std::vector<at::Tensor> matrices, vectors;
  for (const at::Tensor& p : parts_->model->parameters())
    (p.dim() >= 2 ? matrices : vectors).push_back(p);
  auto options_for = [&](bool per_channel, uint64_t first_parameter) {
    torchq::LowPrecisionSgdOptions opt;
    opt.momentum = o.momentum;
    opt.weight_decay = o.weight_decay;
    opt.grad = site_spec(plan.grad, plan.rounding, per_channel, o.seed);
    opt.momentum_buffer = site_spec(plan.momentum, plan.rounding, per_channel, o.seed);
    opt.accumulator = site_spec(plan.accumulator, plan.rounding, per_channel, o.seed);
    opt.weight = site_spec(plan.weight, plan.rounding, per_channel, o.seed);
    opt.first_parameter = first_parameter;
    return opt;
  };
  parts_->sgd_matrices = std::make_unique<torchq::LowPrecisionSgd>(matrices, options_for(true, 0));
  parts_->sgd_vectors =
      std::make_unique<torchq::LowPrecisionSgd>(vectors, options_for(false, matrices.size()));
}

TrainingState::~TrainingState() = default;

LowPrecisionNet& TrainingState::model() { return *parts_->model; }

std::vector<at::Tensor> TrainingState::parameters() const { return parts_->model->parameters(); }

std::pair<double, at::Tensor> TrainingState::step(const at::Tensor& images,
                                                  const at::Tensor& labels, double lr) {
  parts_->model->set_stream_context(torchq::Pass::kTrain, steps_);
  parts_->sgd_matrices->zero_grad();
  parts_->sgd_vectors->zero_grad();
  const at::Device device = parts_->device;
  at::Tensor logits = parts_->model->forward(images.to(device));
  const at::Tensor loss = torch::nn::functional::cross_entropy(logits, labels.to(device));
  const double loss_value = loss.item<double>();
  GradientExchange* exchange = parts_->exchange.get();
  const bool finite =
      exchange ? exchange->all(std::isfinite(loss_value)) : std::isfinite(loss_value);
  if (!finite)
    throw RuntimeFailure("the training loss became " + std::to_string(loss_value) + " at step " +
                         std::to_string(steps_ + 1) + " (learning rate " + std::to_string(lr) +
                         "): the run diverged; lower the learning rate");
  loss.backward();
  if (exchange) {
    // The exchange works on host memory: GPU gradients travel through CPU copies.
    std::vector<at::Tensor> gradients;
    for (const at::Tensor& p : parts_->model->parameters()) gradients.push_back(p.grad().cpu());
    exchange->average(gradients);
    if (!device.is_cpu()) {
      const auto parameters = parts_->model->parameters();
      for (size_t i = 0; i < parameters.size(); ++i)
        parameters[i].mutable_grad().copy_(gradients[i]);
    }
  }
  parts_->sgd_matrices->step(lr);
  parts_->sgd_vectors->step(lr);
  ++steps_;
  if (exchange) exchange->check_in_sync(parts_->model->parameters(), steps_);
  return {loss_value, logits.detach().cpu()};
}

std::vector<std::pair<std::string, at::Tensor>> TrainingState::state_tensors() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  const auto params = parts_->model->parameters();
  for (size_t i = 0; i < params.size(); ++i)
    out.emplace_back("param." + std::to_string(i), params[i].detach().cpu());
  const auto buffers = parts_->model->buffers();
  for (size_t i = 0; i < buffers.size(); ++i)
    out.emplace_back("buffer." + std::to_string(i), buffers[i].detach().cpu());
  for (auto& entry : parts_->sgd_matrices->state_entries("matrices.")) out.push_back(entry);
  for (auto& entry : parts_->sgd_vectors->state_entries("vectors.")) out.push_back(entry);
  return out;
}

void TrainingState::restore(const std::function<at::Tensor(const std::string&)>& read) {
  c10::NoGradGuard no_grad;
  const auto params = parts_->model->parameters();
  const auto buffers = parts_->model->buffers();
  std::vector<at::Tensor> saved_params, saved_buffers;
  for (size_t i = 0; i < params.size(); ++i) {
    saved_params.push_back(read("param." + std::to_string(i)));
    if (saved_params.back().sizes() != params[i].sizes())
      throw InvalidInput("checkpoint parameter " + std::to_string(i) +
                         " has another shape (another model?)");
  }
  for (size_t i = 0; i < buffers.size(); ++i) {
    saved_buffers.push_back(read("buffer." + std::to_string(i)));
    if (saved_buffers.back().sizes() != buffers[i].sizes())
      throw InvalidInput("checkpoint buffer " + std::to_string(i) +
                         " has another shape (another model?)");
  }
  parts_->sgd_matrices->load_state_entries("matrices.", read);
  parts_->sgd_vectors->load_state_entries("vectors.", read);
  for (size_t i = 0; i < params.size(); ++i) params[i].detach().copy_(saved_params[i]);
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved_buffers[i]);
  steps_ = parts_->sgd_matrices->steps_taken();
}

namespace {

// An average of the state's parameters in `format` ("" = fp32; per-channel scopes for 2-D+
// parameters, as the weights), drawing the streams of indices first_index onwards.
torchq::SwaAverager make_averager(const TrainingState& state, const TrainOptions& o,
                                  const std::string& format, uint64_t first_index) {
  std::vector<std::optional<QuantSpec>> formats;
  for (const at::Tensor& p : state.parameters())
    formats.push_back(site_spec(format, o.quant.rounding, p.dim() >= 2, o.seed));
  return torchq::SwaAverager(state.parameters(), formats, first_index);
}

// Everything of a run besides the training state that a checkpoint holds.
struct RunState {
  torchq::SwaAverager& swa;
  at::Generator &shuffle, &augmentation;
  uint64_t& constant_phase_steps;
  std::vector<EpochMetrics>& epochs;
  const std::string* settings;  // null: not compared (reading a checkpoint for inspection)
};

// The checkpoint's entries: the training state's (model, both optimizers), the averager's, the
// generators (shuffling, augmentation, dropout), the K-step counter, the metrics and the
// exchange's per-worker state.
NamedTensors checkpoint_entries(const TrainingState& state, RunState& run,
                                const std::vector<at::Tensor>& exchange_state) {
  NamedTensors entries = state.state_tensors();
  for (auto& entry : run.swa.state_entries("swa.")) entries.push_back(entry);
  entries.emplace_back("constant_phase_steps", at::tensor({int64_t(run.constant_phase_steps)}));
  entries.emplace_back("generator", run.shuffle.get_state());
  entries.emplace_back("augmentation_generator", run.augmentation.get_state());
  at::Generator dropout = at::detail::getDefaultCPUGenerator();
  entries.emplace_back("dropout_generator", dropout.get_state());
  entries.emplace_back("metrics", metrics_to_tensor(run.epochs));
  entries.emplace_back("settings", text_entry(run.settings ? *run.settings : std::string()));
  entries.emplace_back("exchange_workers", at::tensor({int64_t(exchange_state.size())}));
  for (size_t w = 0; w < exchange_state.size(); ++w)
    entries.emplace_back("exchange." + std::to_string(w), exchange_state[w]);
  return entries;
}

// "key = value" lines into a map (comments, table headers and blank lines skipped).
std::map<std::string, std::string> settings_map(const std::string& text) {
  std::map<std::string, std::string> keys;
  std::istringstream lines(text);
  std::string table;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '[') table = line.substr(1, line.find(']') - 1) + ".";
    const size_t equals = line.find(" = ");
    if (equals != std::string::npos) keys[table + line.substr(0, equals)] = line.substr(equals + 3);
  }
  return keys;
}

// A checkpoint continues only the run that wrote it: other settings would mix two runs in one
// metrics.csv. Names every key that differs.
void refuse_other_settings(const std::string& path, const std::string& saved,
                           const std::string& current) {
  if (saved == current) return;
  const auto before = settings_map(saved), now = settings_map(current);
  std::string differences;
  auto value = [](const std::map<std::string, std::string>& keys, const std::string& key) {
    const auto it = keys.find(key);
    return it == keys.end() ? std::string("(absent)") : it->second;
  };
  std::set<std::string> keys;
  for (const auto& [key, v] : before) keys.insert(key);
  for (const auto& [key, v] : now) keys.insert(key);
  for (const std::string& key : keys)
    if (value(before, key) != value(now, key))
      differences += (differences.empty() ? "" : "; ") + key + " = " + value(before, key) +
                     " in the checkpoint, " + value(now, key) + " now";
  throw InvalidInput("checkpoint '" + path + "' was written by a run with other settings (" +
                     (differences.empty() ? std::string("formatting") : differences) +
                     "); resume it with the config.toml it was written with, or start a new "
                     "run in another directory");
}

// Restores state, average, generators, metrics and the exchange's state from a checked file.
void load_checkpoint(const std::string& path, TrainingState& state, RunState& run,
                     GradientExchange* exchange) {
  const CheckpointFile file(path);
  const auto read = [&](const std::string& name) { return file.read(name); };
  if (run.settings) refuse_other_settings(path, file.text("settings"), *run.settings);
  const int64_t workers = file.integer("exchange_workers");
  if (workers < 0 || workers > 1000000)
    throw InvalidInput("checkpoint '" + path + "' is corrupt: exchange_workers " +
                       std::to_string(workers));
  if (!exchange && workers > 0)
    throw InvalidInput("checkpoint '" + path + "' comes from a data-parallel run of " +
                       std::to_string(workers) + " workers; resume it under mpirun -np " +
                       std::to_string(workers));
  std::vector<at::Tensor> exchange_state;
  for (int64_t w = 0; w < workers; ++w)
    exchange_state.push_back(read("exchange." + std::to_string(w)));
  std::vector<EpochMetrics> epochs = metrics_from_tensor(read("metrics"));
  const int64_t constant_phase_steps = file.integer("constant_phase_steps");
  const at::Tensor shuffle = read("generator"), augmentation = read("augmentation_generator"),
                   dropout = read("dropout_generator");
  state.restore(read);
  run.swa.load_state_entries("swa.", read);
  if (exchange) exchange->restore_state(exchange_state);
  run.constant_phase_steps = uint64_t(std::max<int64_t>(constant_phase_steps, 0));
  try {
    run.shuffle.set_state(shuffle);
    run.augmentation.set_state(augmentation);
    at::Generator dropout_generator = at::detail::getDefaultCPUGenerator();
    dropout_generator.set_state(dropout);
  } catch (const std::exception&) {
    throw InvalidInput("checkpoint '" + path + "' is corrupt: a generator state does not load");
  }
  run.epochs = std::move(epochs);
}

}  // namespace

struct CheckpointReader::Parts {
  explicit Parts(const TrainOptions& o)
      : options(o),
        state(o),
        swa(state.parameters(), std::vector<std::optional<QuantSpec>>(state.parameters().size())),
        shuffle(at::detail::createCPUGenerator(o.seed)),
        augmentation(at::detail::createCPUGenerator(o.seed)) {}
  TrainOptions options;
  TrainingState state;
  torchq::SwaAverager swa;
  at::Generator shuffle, augmentation;
};

CheckpointReader::CheckpointReader(const TrainOptions& o) : parts_(std::make_unique<Parts>(o)) {}
CheckpointReader::~CheckpointReader() = default;

std::vector<EpochMetrics> CheckpointReader::read(const std::string& path) {
  uint64_t constant_phase_steps = 0;
  std::vector<EpochMetrics> epochs;
  RunState run{parts_->swa,          parts_->shuffle, parts_->augmentation,
               constant_phase_steps, epochs,          nullptr};
  load_checkpoint(path, parts_->state, run, parts_->options.exchange.get());
  return epochs;
}

TrainResult train(const TrainOptions& o, const Dataset& train_set, const Dataset& test_set,
                  const std::function<void(const std::vector<EpochMetrics>&)>& on_epoch,
                  const std::function<void(const StepProgress&)>& on_step) {
  validate(o);
  if (train_set.size() == 0 || test_set.size() == 0)
    throw InvalidInput("the training and test sets must hold at least one example");
  TrainingState state(o);
  LowPrecisionNet& model = state.model();
  const size_t parameters = state.parameters().size();
  // The run's own average, then the extra ones, each drawing its own stream indices.
  std::vector<ScheduledAverage> averages;
  averages.push_back({make_averager(state, o, o.quant.swa, 0), o.swa_every});
  for (const ExtraAverage& extra : o.extra_averages)
    averages.push_back(
        {make_averager(state, o, extra.format, averages.size() * parameters), extra.every});
  torchq::SwaAverager& swa = averages.front().averager;
  const bool eval_fp32 = o.eval != "quantized", eval_quantized = o.eval != "fp32";
  const bool has_activation_quantizers = !o.quant.activation.empty() || !o.quant.error.empty();

  TrainResult result;
  const auto run_start = std::chrono::steady_clock::now();
  at::Generator shuffle = at::detail::createCPUGenerator(o.seed);
  at::Generator augmentation = at::detail::createCPUGenerator(o.seed ^ 0x5eed);
  uint64_t constant_phase_steps = 0;
  RunState run{swa, shuffle, augmentation, constant_phase_steps, result.epochs, &o.settings};
  if (!o.checkpoint.empty() && (!o.exchange || o.exchange->rank() == 0))
    remove_stale_temporaries(o.checkpoint);
  if (!o.checkpoint.empty() && std::filesystem::exists(o.checkpoint))
    load_checkpoint(o.checkpoint, state, run, o.exchange.get());
  int epochs_this_call = 0;
  for (int epoch = int(result.epochs.size()); epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = swa_learning_rate(o, epoch);
    const at::Tensor order = at::randperm(train_set.size(), shuffle, at::kLong);
    // K-step averaging runs in the constant-rate phase, after the annealed iterate joined.
    const bool constant_phase = o.schedule == "swa" && epoch >= o.swa_start;
    double loss_sum = 0;
    int64_t wrong = 0, seen = 0;  // over this worker's examples
    StepProgress progress{epoch + 1, o.epochs, 0,
                          (train_set.size() + o.batch_size - 1) / o.batch_size, 0.0};
    for (int64_t begin = 0; begin < train_set.size(); begin += o.batch_size) {
      const int64_t end = std::min<int64_t>(train_set.size(), begin + o.batch_size);
      at::Tensor index = order.slice(0, begin, end);
      if (o.exchange) {  // this worker's slice of the global batch
        const int64_t size = end - begin, workers = o.exchange->size(), r = o.exchange->rank();
        if (size < workers) continue;  // a last batch too small to split: every worker skips
        index = index.slice(0, size * r / workers, size * (r + 1) / workers);
      }
      const at::Tensor y = train_set.labels.index_select(0, index);
      at::Tensor x = train_set.images.index_select(0, index);
      if (o.augment) x = augment_crop_flip(x, augmentation);
      const auto [loss, logits] = state.step(x, y, m.lr);
      if (constant_phase) {
        ++constant_phase_steps;
        for (ScheduledAverage& average : averages) average.after_step(constant_phase_steps);
      }
      loss_sum += loss * double(index.size(0));
      seen += index.size(0);
      wrong += logits.argmax(1).ne(y).sum().item<int64_t>();
      if (on_step) {
        ++progress.batch;
        progress.loss = loss_sum / double(std::max<int64_t>(seen, 1));
        on_step(progress);
      }
    }
    m.train_loss = loss_sum / double(seen);
    m.train_error = 100.0 * double(wrong) / double(seen);
    m.test_error_sgd =
        evaluate(model, train_set, test_set, o.batch_size, true, uint64_t(epoch), kEvalSgd);
    if (averages_after(o, epoch)) {
      for (ScheduledAverage& average : averages) average.after_averaged_epoch();
      if (eval_fp32)
        m.test_error_swa = evaluate_average(model, swa, train_set, test_set, o.batch_size, false,
                                            uint64_t(epoch), kEvalAverageFp32);
      if (eval_quantized)
        m.test_error_swa_lp =
            has_activation_quantizers || !eval_fp32
                ? evaluate_average(model, swa, train_set, test_set, o.batch_size, true,
                                   uint64_t(epoch), kEvalAverageQuantized)
                : m.test_error_swa;  // no activation quantizers: the same arithmetic
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.epochs.push_back(m);
    if (!o.checkpoint.empty()) {
      // Collective: every worker takes part in gathering the exchange's state.
      const std::vector<at::Tensor> exchange_state =
          o.exchange ? o.exchange->gather_state() : std::vector<at::Tensor>{};
      if (!o.exchange || o.exchange->rank() == 0)
        write_checkpoint(o.checkpoint, checkpoint_entries(state, run, exchange_state));
    }
    if (on_epoch) on_epoch(result.epochs);
    result.steps = state.steps();
    if (o.stop_after_epochs > 0 && ++epochs_this_call == o.stop_after_epochs &&
        epoch + 1 < o.epochs)
      return result;
  }
  result.finished = true;
  for (size_t e = 1; e < averages.size(); ++e) {  // the extra averages, once, as the run's own
    torchq::SwaAverager& extra = averages[e].averager;
    result.extra_average_errors.push_back(
        extra.count() == 0 ? -1.0
                           : evaluate_average(model, extra, train_set, test_set, o.batch_size,
                                              false, uint64_t(o.epochs), kEvalAverageFp32));
  }
  NamedTensors final_state = state.state_tensors();
  for (auto& entry : swa.state_entries("swa.")) final_state.push_back(entry);
  result.state_checksum = checksum_of(final_state);
  result.test_error_sgd = result.epochs.back().test_error_sgd;
  result.test_error_swa = result.epochs.back().test_error_swa;
  result.test_error_swa_lp = result.epochs.back().test_error_swa_lp;
  result.steps = state.steps();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  return result;
}

}  // namespace swalp::engine
