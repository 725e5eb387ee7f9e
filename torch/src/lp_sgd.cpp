#include "swalp/torch/lp_sgd.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "swalp/error.h"
#include "swalp/torch/quantize_tensor.h"
#include "swalp/torch/streams.h"

namespace swalp::torchq {

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
  started_ = true;
}

void LowPrecisionSgd::store_accumulator(size_t i, at::Tensor& acc) {
  if (options_.accumulator)
    quantize_(acc, at_site(*options_.accumulator, int(Quantity::kAccumulator), i));
  at::Tensor& p = params_[i];
  if (options_.weight) {
    p.copy_(quantize(acc, at_site(*options_.weight, int(Quantity::kWeight), i)));
  } else {
    p.copy_(acc);
  }
}

QuantSpec LowPrecisionSgd::at_site(const QuantSpec& spec, int quantity, size_t i) const {
  QuantSpec s = spec;
  s.stream = compose_stream({Quantity(quantity), started_ ? Pass::kTrain : Pass::kStartup,
                             options_.first_parameter + i, started_ ? step_ : 0});
  return s;
}

void LowPrecisionSgd::step(double lr) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = options_.grad
                       ? quantize(p.grad(), at_site(*options_.grad, int(Quantity::kGrad), i))
                       : p.grad().clone();
    at::Tensor& acc = accumulator_[i];
    if (options_.weight_decay != 0) g.add_(acc, options_.weight_decay);
    at::Tensor& m = momentum_[i];
    m.mul_(options_.momentum).add_(g);
    acc.add_(m, -lr);
    store_accumulator(i, acc);
    if (options_.momentum_buffer)
      quantize_(m, at_site(*options_.momentum_buffer, int(Quantity::kMomentum), i));
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

std::vector<std::pair<std::string, at::Tensor>> LowPrecisionSgd::state_entries(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (size_t i = 0; i < params_.size(); ++i) {
    entries.emplace_back(prefix + "momentum." + std::to_string(i), momentum_[i].detach().cpu());
    entries.emplace_back(prefix + "accumulator." + std::to_string(i),
                         accumulator_[i].detach().cpu());
  }
  entries.emplace_back(prefix + "steps", at::tensor({int64_t(step_)}));
  return entries;
}

void LowPrecisionSgd::load_state_entries(
    const std::string& prefix, const std::function<at::Tensor(const std::string&)>& read) {
  auto fitting = [&](const std::string& name, const at::Tensor& like) {
    at::Tensor t = read(prefix + name);
    if (t.sizes() != like.sizes() || t.scalar_type() != like.scalar_type())
      throw InvalidInput("checkpoint entry '" + prefix + name +
                         "' does not fit this optimizer (another model?)");
    return t;
  };
  std::vector<at::Tensor> momentum, accumulator;
  for (size_t i = 0; i < params_.size(); ++i) {
    momentum.push_back(fitting("momentum." + std::to_string(i), momentum_[i]));
    accumulator.push_back(fitting("accumulator." + std::to_string(i), accumulator_[i]));
  }
  const at::Tensor steps = read(prefix + "steps");
  if (steps.numel() != 1 || steps.scalar_type() != at::kLong || steps.item<int64_t>() < 0)
    throw InvalidInput("checkpoint entry '" + prefix + "steps' is not a step count");
  restore(momentum, accumulator, uint64_t(steps.item<int64_t>()));
}

void LowPrecisionSgd::zero_grad() {
  for (at::Tensor& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

}  // namespace swalp::torchq
