#include "swalp/torch/lp_sgd.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "swalp/torch/quantize_tensor.h"

namespace swalp::torchq {

namespace {
// Sites per parameter: 4 quantized quantities, numbered apart from activation/error sites.
enum Site : uint64_t { kGradSite = 0, kAccumulatorSite = 1, kWeightSite = 2, kMomentumSite = 3 };
uint64_t site_of(size_t param, Site site) { return (uint64_t(param) << 2) | site; }
}  // namespace

LowPrecisionSgd::LowPrecisionSgd(std::vector<at::Tensor> params, LowPrecisionSgdOptions options)
    : params_(std::move(params)), options_(std::move(options)) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    at::Tensor acc = p.detach().clone();
    store_accumulator(i, acc);
    accumulator_.push_back(acc);
    momentum_.push_back(at::zeros_like(acc));
  }
}

void LowPrecisionSgd::store_accumulator(size_t i, at::Tensor& acc) {
  if (options_.accumulator)
    quantize_(acc, at_site(*options_.accumulator, site_of(i, kAccumulatorSite)));
  at::Tensor& p = params_[i];
  if (options_.weight) {
    p.copy_(quantize(acc, at_site(*options_.weight, site_of(i, kWeightSite))));
  } else {
    p.copy_(acc);
  }
}

QuantSpec LowPrecisionSgd::at_site(const QuantSpec& spec, uint64_t site) const {
  QuantSpec s = spec;
  s.stream = site_stream(step_, site);
  return s;
}

void LowPrecisionSgd::step(double lr) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = options_.grad
                       ? quantize(p.grad(), at_site(*options_.grad, site_of(i, kGradSite)))
                       : p.grad().clone();
    if (options_.weight_decay != 0) g.add_(p.detach(), options_.weight_decay);
    at::Tensor& m = momentum_[i];
    m.mul_(options_.momentum).add_(g);
    at::Tensor& acc = accumulator_[i];
    acc.add_(m, -lr);
    store_accumulator(i, acc);
    if (options_.momentum_buffer)
      quantize_(m, at_site(*options_.momentum_buffer, site_of(i, kMomentumSite)));
  }
  ++step_;
}

void LowPrecisionSgd::restore(const std::vector<at::Tensor>& momentum,
                              const std::vector<at::Tensor>& accumulator, uint64_t steps) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    momentum_[i].copy_(momentum.at(i));
    accumulator_[i].copy_(accumulator.at(i));
  }
  step_ = steps;
}

void LowPrecisionSgd::zero_grad() {
  for (at::Tensor& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

}  // namespace swalp::torchq
