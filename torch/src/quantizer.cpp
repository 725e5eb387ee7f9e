#include "swalp/torch/quantizer.h"

#include <torch/csrc/autograd/custom_function.h>

#include "swalp/torch/quantize_tensor.h"

namespace swalp::torchq {

namespace {

// The backward spec travels in the autograd context as plain values.
void save_spec(torch::autograd::AutogradContext* ctx, const std::optional<QuantSpec>& spec) {
  ctx->saved_data["has_backward"] = spec.has_value();
  if (!spec) return;
  ctx->saved_data["format"] = spec->format.spelling;
  ctx->saved_data["rounding"] = int64_t(spec->rounding);
  ctx->saved_data["seed"] = int64_t(spec->seed);
  ctx->saved_data["stream"] = int64_t(spec->stream);
}

std::optional<QuantSpec> load_spec(torch::autograd::AutogradContext* ctx) {
  if (!ctx->saved_data["has_backward"].toBool()) return std::nullopt;
  QuantSpec spec;
  spec.format = parse_format(ctx->saved_data["format"].toStringRef());
  spec.rounding = Rounding(ctx->saved_data["rounding"].toInt());
  spec.seed = uint64_t(ctx->saved_data["seed"].toInt());
  spec.stream = uint64_t(ctx->saved_data["stream"].toInt());
  return spec;
}

struct QuantizeFunction : public torch::autograd::Function<QuantizeFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const QuantizerSpecs* specs) {
    save_spec(ctx, specs->backward);
    return specs->forward ? quantize(x, *specs->forward) : x.clone();
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const std::optional<QuantSpec> spec = load_spec(ctx);
    at::Tensor grad = grads[0];
    if (spec) grad = quantize(grad, *spec);
    return {grad, at::Tensor()};
  }
};

}  // namespace

at::Tensor quantize_with_grad(const at::Tensor& x, const QuantizerSpecs& specs) {
  return QuantizeFunction::apply(x, &specs);
}

}  // namespace swalp::torchq
