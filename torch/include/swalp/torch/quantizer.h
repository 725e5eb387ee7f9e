// The autograd quantizer of low-precision training (QPyTorch's mental model): values are
// quantized on the way forward, errors (incoming gradients) on the way back, each with its own
// format and rounding; a side without a spec passes through unchanged (straight-through).
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "swalp/quantize.h"

namespace swalp::torchq {

struct QuantizerSpecs {
  std::optional<QuantSpec> forward;   // values
  std::optional<QuantSpec> backward;  // errors
};

// y = Q_forward(x); dL/dx = Q_backward(dL/dy). Differentiable; x must be float32 on the CPU.
at::Tensor quantize_with_grad(const at::Tensor& x, const QuantizerSpecs& specs);

}  // namespace swalp::torchq
