#include "train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/functional/loss.h>
#include <torch/serialize/archive.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "io/atomic_file.h"
#include "swalp/error.h"
#include "swalp/torch/lp_sgd.h"
#include "swalp/torch/swa.h"
#include "train/models.h"

namespace swalp::engine {

bool QuantPlan::any() const {
  return !(weight.empty() && grad.empty() && momentum.empty() && accumulator.empty() &&
           activation.empty() && error.empty() && swa.empty());
}

QuantPlan QuantPlan::uniform(const std::string& spelling, const std::string& rounding) {
  QuantPlan plan{spelling, spelling, spelling, spelling, spelling, spelling, rounding, ""};
  return plan;
}

namespace {

// The spec of one site, with the paper's scope when the spelling names none.
std::optional<QuantSpec> site_spec(const std::string& spelling, const std::string& rounding,
                                   bool per_channel, uint64_t seed) {
  if (spelling.empty()) return std::nullopt;
  QuantSpec spec = make_quant_spec(spelling, rounding, seed);
  const bool names_scope =
      spelling.find_first_of(':') != std::string::npos &&
      (spelling.find(":tensor") != std::string::npos ||
       spelling.find(":row") != std::string::npos || spelling.find(":col") != std::string::npos ||
       spelling.find(":block") != std::string::npos);
  if (per_channel && spec.format.shares_scale() && spec.format.kind != FormatKind::kMx &&
      !names_scope)
    spec = make_quant_spec(spec.format.spelling.substr(0, spec.format.spelling.rfind(':')) + ":row",
                           rounding, seed);
  return spec;
}

double error_percent(LowPrecisionNet& model, const Dataset& data, int batch_size, bool quantized) {
  c10::NoGradGuard no_grad;
  model.eval();
  model.set_quantizers_enabled(quantized);
  int64_t wrong = 0;
  const at::Device device = device_of(model);
  for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const int64_t end = std::min<int64_t>(data.size(), begin + batch_size);
    const at::Tensor logits = model.forward(data.images.slice(0, begin, end).to(device));
    wrong += logits.argmax(1).cpu().ne(data.labels.slice(0, begin, end)).sum().item<int64_t>();
  }
  model.train();
  model.set_quantizers_enabled(true);
  return 100.0 * double(wrong) / double(data.size());
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
  static const std::vector<std::string> modes = {"quantized", "fp32"};
  return modes;
}

double swa_learning_rate(const TrainOptions& o, int epoch) {
  if (o.swa_start <= 0) return o.swa_lr;
  const double t = double(epoch) / o.swa_start, ratio = o.swa_lr / o.lr_init;
  const double factor = t <= 0.5 ? 1.0 : t <= 0.9 ? 1.0 - (1.0 - ratio) * (t - 0.5) / 0.4 : ratio;
  return o.lr_init * factor;
}

struct TrainingState::Parts {
  at::Device device = at::kCPU;  // where the model lives
  std::shared_ptr<LowPrecisionNet> model;
  std::shared_ptr<GradientExchange> exchange;
  std::unique_ptr<torchq::LowPrecisionSgd> sgd_matrices, sgd_vectors;
};

TrainingState::TrainingState(const TrainOptions& o) : parts_(std::make_unique<Parts>()) {
  if (o.batch_size < 1) throw InvalidInput("batch size must be >= 1");
  at::manual_seed(o.seed);
  const QuantPlan& plan = o.quant;
  ActivationQuant activation_quant{site_spec(plan.activation, plan.rounding, false, o.seed + 1),
                                   site_spec(plan.error, plan.rounding, false, o.seed + 2)};
  parts_->model = make_model(o.model, activation_quant, o.in_channels, o.classes);
  parts_->device = resolve_device(o.device);
  parts_->model->to(parts_->device);
  parts_->exchange = o.exchange;
  // One optimizer per kind of parameter, so that 1-D parameters keep whole-tensor scopes.
  std::vector<at::Tensor> matrices, vectors;
  for (const at::Tensor& p : parts_->model->parameters())
    (p.dim() >= 2 ? matrices : vectors).push_back(p);
  auto options_for = [&](bool per_channel) {
    torchq::LowPrecisionSgdOptions opt;
    opt.momentum = o.momentum;
    opt.weight_decay = o.weight_decay;
    opt.grad = site_spec(plan.grad, plan.rounding, per_channel, o.seed + 3);
    opt.momentum_buffer = site_spec(plan.momentum, plan.rounding, per_channel, o.seed + 4);
    opt.accumulator = site_spec(plan.accumulator, plan.rounding, per_channel, o.seed + 5);
    opt.weight = site_spec(plan.weight, plan.rounding, per_channel, o.seed + 6);
    return opt;
  };
  parts_->sgd_matrices = std::make_unique<torchq::LowPrecisionSgd>(matrices, options_for(true));
  parts_->sgd_vectors = std::make_unique<torchq::LowPrecisionSgd>(vectors, options_for(false));
}

TrainingState::~TrainingState() = default;

LowPrecisionNet& TrainingState::model() { return *parts_->model; }

std::vector<at::Tensor> TrainingState::parameters() const { return parts_->model->parameters(); }

std::pair<double, at::Tensor> TrainingState::step(const at::Tensor& images,
                                                  const at::Tensor& labels, double lr) {
  parts_->model->set_step(steps_);
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
    out.emplace_back("param." + std::to_string(i), params[i]);
  const auto buffers = parts_->model->buffers();
  for (size_t i = 0; i < buffers.size(); ++i)
    out.emplace_back("buffer." + std::to_string(i), buffers[i]);
  for (const auto& [name, sgd] : {std::pair{"matrices", parts_->sgd_matrices.get()},
                                  std::pair{"vectors", parts_->sgd_vectors.get()}}) {
    for (size_t i = 0; i < sgd->momentum_buffers().size(); ++i) {
      out.emplace_back(std::string(name) + ".momentum." + std::to_string(i),
                       sgd->momentum_buffers()[i]);
      out.emplace_back(std::string(name) + ".accumulator." + std::to_string(i),
                       sgd->accumulators()[i]);
    }
  }
  return out;
}

void TrainingState::restore(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            uint64_t steps) {
  c10::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  auto get = [&](const std::string& name) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) throw InvalidInput("checkpoint lacks '" + name + "' (another model?)");
    return it->second;
  };
  const auto params = parts_->model->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor saved = get("param." + std::to_string(i));
    if (saved.sizes() != params[i].sizes())
      throw InvalidInput("checkpoint parameter " + std::to_string(i) +
                         " has another shape (another model?)");
    params[i].detach().copy_(saved);
  }
  const auto buffers = parts_->model->buffers();
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(get("buffer." + std::to_string(i)));
  for (const auto& [name, sgd] : {std::pair{"matrices", parts_->sgd_matrices.get()},
                                  std::pair{"vectors", parts_->sgd_vectors.get()}}) {
    std::vector<at::Tensor> momentum, accumulator;
    for (size_t i = 0; i < sgd->momentum_buffers().size(); ++i) {
      momentum.push_back(get(std::string(name) + ".momentum." + std::to_string(i)));
      accumulator.push_back(get(std::string(name) + ".accumulator." + std::to_string(i)));
    }
    sgd->restore(momentum, accumulator, steps);
  }
  steps_ = steps;
}

namespace {

constexpr int kMetricColumns = 7;
constexpr int64_t kCheckpointVersion = 2;  // 2: exchange state, swalp trailer

at::Tensor metrics_tensor(const std::vector<EpochMetrics>& epochs) {
  at::Tensor t = at::zeros({int64_t(epochs.size()), kMetricColumns}, at::kDouble);
  for (size_t e = 0; e < epochs.size(); ++e) {
    const EpochMetrics& m = epochs[e];
    const double row[kMetricColumns] = {
        double(m.epoch),  m.lr,     m.train_loss, m.train_error, m.test_error_sgd,
        m.test_error_swa, m.seconds};
    for (int c = 0; c < kMetricColumns; ++c) t[e][c] = row[c];
  }
  return t;
}

std::vector<EpochMetrics> metrics_from(const at::Tensor& t) {
  std::vector<EpochMetrics> epochs;
  for (int64_t e = 0; e < t.size(0); ++e) {
    EpochMetrics m;
    m.epoch = int(t[e][0].item<double>());
    m.lr = t[e][1].item<double>();
    m.train_loss = t[e][2].item<double>();
    m.train_error = t[e][3].item<double>();
    m.test_error_sgd = t[e][4].item<double>();
    m.test_error_swa = t[e][5].item<double>();
    m.seconds = t[e][6].item<double>();
    epochs.push_back(m);
  }
  return epochs;
}

// CRC-32 continued over `size` bytes (zlib's crc32 takes at most 4 GiB at a time).
uLong crc_update(uLong crc, const void* data, size_t size) {
  const auto* bytes = static_cast<const Bytef*>(data);
  for (size_t at = 0; at < size; at += size_t(1) << 30)
    crc = crc32(crc, bytes + at, uInt(std::min(size - at, size_t(1) << 30)));
  return crc;
}

// CRC-32 of every entry's name and bytes, in order (summary.json's state_checksum).
int64_t checksum_of(const std::vector<std::pair<std::string, at::Tensor>>& entries) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& [name, tensor] : entries) {
    const at::Tensor t = tensor.detach().cpu().contiguous();
    crc = crc_update(crc, name.data(), name.size());
    crc = crc_update(crc, t.data_ptr(), size_t(t.numel()) * t.element_size());
  }
  return int64_t(crc);
}

// A checkpoint file is the libtorch archive followed by a 24-byte trailer: "SWALPCK\0", the
// archive's length (8 bytes) and its CRC-32 (4 bytes), then the trailer version (4 bytes, all
// little-endian). The whole file is checked before libtorch parses any of it: its TorchScript
// importer crashes on some damaged archives (found by fuzz_checkpoint).
constexpr char kTrailerMagic[8] = {'S', 'W', 'A', 'L', 'P', 'C', 'K', '\0'};
constexpr size_t kTrailerSize = 24;
constexpr uint32_t kTrailerVersion = 1;

uint32_t crc32_of(const std::string& bytes) {
  return uint32_t(crc_update(crc32(0L, Z_NULL, 0), bytes.data(), bytes.size()));
}

std::string checkpoint_trailer(const std::string& archive) {
  std::string t(kTrailerMagic, sizeof kTrailerMagic);
  const uint64_t length = archive.size();
  const uint32_t crc = crc32_of(archive), version = kTrailerVersion;
  for (int b = 0; b < 8; ++b) t.push_back(char((length >> (8 * b)) & 0xff));
  for (int b = 0; b < 4; ++b) t.push_back(char((crc >> (8 * b)) & 0xff));
  for (int b = 0; b < 4; ++b) t.push_back(char((version >> (8 * b)) & 0xff));
  return t;
}

// The archive bytes of a checkpoint file, after checking its trailer and checksum.
std::string checked_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput("cannot open checkpoint '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto little = [&](size_t at, int count) {
    uint64_t v = 0;
    for (int b = 0; b < count; ++b) v |= uint64_t(uint8_t(bytes[at + b])) << (8 * b);
    return v;
  };
  if (bytes.size() < kTrailerSize ||
      bytes.compare(bytes.size() - kTrailerSize, 8, kTrailerMagic, 8) != 0)
    throw InvalidInput("checkpoint '" + path +
                       "' is corrupt or not a swalp checkpoint (no swalp trailer: truncated, "
                       "damaged, or written by another program)");
  const size_t trailer = bytes.size() - kTrailerSize;
  if (little(trailer + 20, 4) != kTrailerVersion)
    throw InvalidInput("checkpoint '" + path + "' has trailer version " +
                       std::to_string(little(trailer + 20, 4)) + "; accepted: " +
                       std::to_string(kTrailerVersion) + " (written by another swalp version)");
  if (little(trailer + 8, 8) != trailer)
    throw InvalidInput("checkpoint '" + path + "' is corrupt: its length does not match its trailer");
  const uint32_t crc = uint32_t(little(trailer + 16, 4));
  bytes.resize(trailer);
  if (crc32_of(bytes) != crc)
    throw InvalidInput("checkpoint '" + path +
                       "' is corrupt: its checksum does not match its contents");
  return bytes;
}

// The names of a checkpoint's entries after "version" and "exchange_workers", in the order
// they are written.
std::vector<std::string> entry_names(const TrainingState& state, const torchq::SwaAverager& swa,
                                     int64_t exchange_workers) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : state.state_tensors()) names.push_back(name);
  for (size_t i = 0; i < swa.average().size(); ++i) names.push_back("swa." + std::to_string(i));
  for (const char* name : {"counters", "generator", "augmentation_generator", "metrics"})
    names.push_back(name);
  for (int64_t w = 0; w < exchange_workers; ++w) names.push_back("exchange." + std::to_string(w));
  return names;
}

// Everything a run needs to continue bit for bit, with a format version, followed by the swalp
// trailer (its checksum), written to a temporary file and renamed.
void save_checkpoint(const std::string& path, const TrainingState& state,
                     const torchq::SwaAverager& swa, at::Generator& shuffle,
                     at::Generator& augmentation, const std::vector<EpochMetrics>& epochs,
                     uint64_t steps_averaging, const std::vector<at::Tensor>& exchange_state) {
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (const auto& [name, tensor] : state.state_tensors())
    entries.emplace_back(name, tensor.detach().cpu());
  for (size_t i = 0; i < swa.average().size(); ++i)
    entries.emplace_back("swa." + std::to_string(i), swa.average()[i].cpu());
  entries.emplace_back("counters",
                       at::tensor({int64_t(state.steps()), swa.count(), int64_t(steps_averaging)}));
  entries.emplace_back("generator", shuffle.get_state());
  entries.emplace_back("augmentation_generator", augmentation.get_state());
  entries.emplace_back("metrics", metrics_tensor(epochs));
  for (size_t w = 0; w < exchange_state.size(); ++w)
    entries.emplace_back("exchange." + std::to_string(w), exchange_state[w]);
  torch::serialize::OutputArchive archive;
  archive.write("version", at::tensor({kCheckpointVersion}));
  archive.write("exchange_workers", at::tensor({int64_t(exchange_state.size())}));
  for (const auto& [name, tensor] : entries) archive.write(name, tensor);
  // Serialized in memory first: libtorch's file writer aborts the process when the disk fills
  // (it throws from a destructor). The bytes then go through an atomic write.
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const std::exception& e) {
    throw RuntimeFailure("cannot write checkpoint '" + path + "': " + e.what());
  }
  const std::string archive_bytes = bytes.str();
  io::AtomicFileWriter writer(path);
  writer.write(archive_bytes);
  writer.write(checkpoint_trailer(archive_bytes));
  // Tests stretch the moment between the write and the rename, to kill the run inside it.
  if (const char* pause = std::getenv("SWALP_TEST_CHECKPOINT_PAUSE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(pause)));
  writer.commit();
}

// Temporary files of checkpoint writes that a kill interrupted.
void remove_stale_temporaries(const std::string& checkpoint) {
  const std::filesystem::path target(checkpoint);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      std::filesystem::remove(entry.path(), ec);
}

// Returns the metrics of the epochs already done; restores state, average, generators and the
// exchange's state. Nothing is changed unless the file's checksum holds and every entry reads.
std::vector<EpochMetrics> load_checkpoint(const std::string& path, TrainingState& state,
                                          torchq::SwaAverager& swa, at::Generator& shuffle,
                                          at::Generator& augmentation, uint64_t& steps_averaging,
                                          GradientExchange* exchange) {
  const std::string bytes = checked_archive(path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    throw InvalidInput("checkpoint '" + path + "' is corrupt or not a swalp checkpoint");
  }
  auto read = [&](const std::string& key) {
    at::Tensor t;
    bool found = false;
    try {
      found = archive.try_read(key, t);
    } catch (const std::exception&) {
      throw InvalidInput("checkpoint '" + path + "' is corrupt: entry '" + key +
                         "' does not read back");
    }
    if (!found) throw InvalidInput("checkpoint '" + path + "' lacks '" + key + "'");
    return t;
  };
  auto scalar = [&](const std::string& key) {
    const at::Tensor t = read(key);
    if (t.numel() != 1 || t.scalar_type() != at::kLong)
      throw InvalidInput("checkpoint '" + path + "' is corrupt: '" + key + "' is not one integer");
    return t.item<int64_t>();
  };
  const int64_t version = scalar("version");
  if (version != kCheckpointVersion)
    throw InvalidInput("checkpoint '" + path + "' has format version " + std::to_string(version) +
                       "; accepted: " + std::to_string(kCheckpointVersion) +
                       " (written by another swalp version)");
  const int64_t workers = scalar("exchange_workers");
  if (workers < 0 || workers > 1000000)
    throw InvalidInput("checkpoint '" + path + "' is corrupt: exchange_workers " +
                       std::to_string(workers));
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (const std::string& name : entry_names(state, swa, workers))
    entries.emplace_back(name, read(name));
  std::map<std::string, at::Tensor> by_name(entries.begin(), entries.end());
  const at::Tensor counters = by_name.at("counters");
  if (counters.numel() != 3 || counters.scalar_type() != at::kLong)
    throw InvalidInput("checkpoint '" + path + "' is corrupt: bad counters");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, tensor] : state.state_tensors()) tensors.emplace_back(name, by_name.at(name));
  std::vector<at::Tensor> average;
  for (size_t i = 0; i < swa.average().size(); ++i)
    average.push_back(by_name.at("swa." + std::to_string(i)));
  std::vector<at::Tensor> exchange_state;
  for (int64_t w = 0; w < workers; ++w) exchange_state.push_back(by_name.at("exchange." + std::to_string(w)));
  if (exchange) exchange->restore_state(exchange_state);
  else if (workers > 0)
    throw InvalidInput("checkpoint '" + path + "' comes from a data-parallel run of " +
                       std::to_string(workers) + " workers; resume it under mpirun -np " +
                       std::to_string(workers));
  state.restore(tensors, uint64_t(counters[0].item<int64_t>()));
  swa.restore(average, counters[1].item<int64_t>());
  steps_averaging = uint64_t(counters[2].item<int64_t>());
  shuffle.set_state(by_name.at("generator"));
  augmentation.set_state(by_name.at("augmentation_generator"));
  return metrics_from(by_name.at("metrics"));
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
  uint64_t steps_averaging = 0;
  return load_checkpoint(path, parts_->state, parts_->swa, parts_->shuffle, parts_->augmentation,
                         steps_averaging, parts_->options.exchange.get());
}

TrainResult train(const TrainOptions& o, const Dataset& train_set, const Dataset& test_set,
                  const std::function<void(const std::vector<EpochMetrics>&)>& on_epoch,
                  const std::function<void(const StepProgress&)>& on_step) {
  if (o.epochs < 1)
    throw InvalidInput("epochs must be >= 1 (got " + std::to_string(o.epochs) + ")");
  if (!(o.lr_init > 0) || !(o.swa_lr > 0)) throw InvalidInput("learning rates must be > 0");
  if (o.swa_every < 0) throw InvalidInput("swa_every must be >= 0 (0: once per epoch)");
  const auto& modes = eval_modes();
  if (std::find(modes.begin(), modes.end(), o.eval) == modes.end())
    throw InvalidInput("bad eval '" + o.eval + "'; accepted: quantized, fp32");
  const bool eval_quantized = o.eval == "quantized";
  TrainingState state(o);
  LowPrecisionNet& model = state.model();
  // The average's format, with per-channel scopes for 2-D+ parameters as the paper's weights.
  std::vector<std::optional<QuantSpec>> average_formats;
  for (const at::Tensor& p : state.parameters())
    average_formats.push_back(site_spec(o.quant.swa, o.quant.rounding, p.dim() >= 2, o.seed + 7));
  torchq::SwaAverager swa(state.parameters(), average_formats);

  TrainResult result;
  const auto run_start = std::chrono::steady_clock::now();
  at::Generator shuffle = at::detail::createCPUGenerator(o.seed);
  at::Generator augmentation = at::detail::createCPUGenerator(o.seed ^ 0x5eed);
  uint64_t steps_averaging = 0;
  if (!o.checkpoint.empty() && (!o.exchange || o.exchange->rank() == 0))
    remove_stale_temporaries(o.checkpoint);
  if (!o.checkpoint.empty() && std::filesystem::exists(o.checkpoint))
    result.epochs =
        load_checkpoint(o.checkpoint, state, swa, shuffle, augmentation, steps_averaging,
                        o.exchange.get());
  int epochs_this_call = 0;
  for (int epoch = int(result.epochs.size()); epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = swa_learning_rate(o, epoch);
    const at::Tensor order = at::randperm(train_set.size(), shuffle, at::kLong);
    const bool averaging = epoch >= o.swa_start;
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
      if (averaging && o.swa_every > 0 && ++steps_averaging % o.swa_every == 0) swa.update();
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
    m.test_error_sgd = error_percent(model, test_set, 1000, eval_quantized);
    if (averaging) {
      // Per-epoch averaging, or a first snapshot when no K-step update happened yet.
      if (o.swa_every <= 0 || swa.count() == 0) swa.update();
      swa.swap_in();
      // BatchNorm statistics of the averaged weights come from one pass over the training
      // data; the SGD model's own statistics are put back afterwards.
      std::vector<at::Tensor> sgd_buffers;
      for (const at::Tensor& b : model.buffers()) sgd_buffers.push_back(b.clone());
      if (!sgd_buffers.empty()) update_batchnorm(model, train_set.images, 256);
      m.test_error_swa = error_percent(model, test_set, 1000, eval_quantized);
      swa.swap_in();
      c10::NoGradGuard no_grad;
      const auto buffers = model.buffers();
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(sgd_buffers[i]);
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.epochs.push_back(m);
    if (!o.checkpoint.empty()) {
      // Collective: every worker takes part in gathering the exchange's state.
      const std::vector<at::Tensor> exchange_state =
          o.exchange ? o.exchange->gather_state() : std::vector<at::Tensor>{};
      if (!o.exchange || o.exchange->rank() == 0)
        save_checkpoint(o.checkpoint, state, swa, shuffle, augmentation, result.epochs,
                        steps_averaging, exchange_state);
    }
    if (on_epoch) on_epoch(result.epochs);
    result.steps = state.steps();
    if (o.stop_after_epochs > 0 && ++epochs_this_call == o.stop_after_epochs &&
        epoch + 1 < o.epochs)
      return result;
  }
  result.finished = true;
  std::vector<std::pair<std::string, at::Tensor>> final_state = state.state_tensors();
  for (size_t i = 0; i < swa.average().size(); ++i)
    final_state.emplace_back("swa." + std::to_string(i), swa.average()[i]);
  result.state_checksum = checksum_of(final_state);
  result.test_error_sgd = result.epochs.back().test_error_sgd;
  result.test_error_swa = result.epochs.back().test_error_swa;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  return result;
}

}  // namespace swalp::engine
