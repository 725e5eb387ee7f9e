#include "swalp/torch/swa.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "swalp/error.h"
#include "swalp/torch/quantize_tensor.h"
#include "swalp/torch/streams.h"

namespace swalp::torchq {

SwaAverager::SwaAverager(std::vector<at::Tensor> tracked, std::optional<QuantSpec> format)
    : SwaAverager(tracked, std::vector<std::optional<QuantSpec>>(tracked.size(), format)) {}

SwaAverager::SwaAverager(std::vector<at::Tensor> tracked,
                         std::vector<std::optional<QuantSpec>> formats, uint64_t first_index)
    : tracked_(std::move(tracked)), formats_(std::move(formats)), first_index_(first_index) {
  TORCH_CHECK(formats_.size() == tracked_.size(), "SwaAverager: one format per tensor");
  for (const at::Tensor& t : tracked_) average_.push_back(at::zeros_like(t.detach()));
}

void SwaAverager::update() {
  c10::NoGradGuard no_grad;
  ++count_;
  for (size_t i = 0; i < tracked_.size(); ++i) {
    average_[i].add_(tracked_[i].detach() - average_[i], 1.0 / double(count_));
    if (formats_[i]) {
      QuantSpec spec = *formats_[i];
      spec.stream =
          compose_stream({Quantity::kAverage, Pass::kTrain, first_index_ + i, uint64_t(count_)});
      quantize_(average_[i], spec);
    }
  }
}

void SwaAverager::restore(const std::vector<at::Tensor>& average, int64_t count) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < average_.size(); ++i) average_[i].copy_(average.at(i));
  count_ = count;
}

std::vector<std::pair<std::string, at::Tensor>> SwaAverager::state_entries(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (size_t i = 0; i < average_.size(); ++i)
    entries.emplace_back(prefix + std::to_string(i), average_[i].detach().cpu());
  entries.emplace_back(prefix + "count", at::tensor({count_}));
  return entries;
}

void SwaAverager::load_state_entries(const std::string& prefix,
                                     const std::function<at::Tensor(const std::string&)>& read) {
  std::vector<at::Tensor> average;
  for (size_t i = 0; i < average_.size(); ++i) {
    at::Tensor t = read(prefix + std::to_string(i));
    if (t.sizes() != average_[i].sizes() || t.scalar_type() != average_[i].scalar_type())
      throw InvalidInput("checkpoint entry '" + prefix + std::to_string(i) +
                         "' does not fit this model's average (another model?)");
    average.push_back(t);
  }
  const at::Tensor count = read(prefix + "count");
  if (count.numel() != 1 || count.scalar_type() != at::kLong || count.item<int64_t>() < 0)
    throw InvalidInput("checkpoint entry '" + prefix + "count' is not an averaging count");
  restore(average, count.item<int64_t>());
}

void SwaAverager::swap_in() {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < tracked_.size(); ++i) {
    at::Tensor current = tracked_[i].detach().clone();
    tracked_[i].detach().copy_(average_[i]);
    average_[i].copy_(current);
  }
}

}  // namespace swalp::torchq
