#include "swalp/torch/swa.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "swalp/torch/quantize_tensor.h"

namespace swalp::torchq {

SwaAverager::SwaAverager(std::vector<at::Tensor> tracked, std::optional<QuantSpec> format)
    : SwaAverager(tracked, std::vector<std::optional<QuantSpec>>(tracked.size(), format)) {}

SwaAverager::SwaAverager(std::vector<at::Tensor> tracked,
                         std::vector<std::optional<QuantSpec>> formats)
    : tracked_(std::move(tracked)), formats_(std::move(formats)) {
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
      spec.stream = (uint64_t(count_) << 20) | i;
      quantize_(average_[i], spec);
    }
  }
}

void SwaAverager::restore(const std::vector<at::Tensor>& average, int64_t count) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < average_.size(); ++i) average_[i].copy_(average.at(i));
  count_ = count;
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
