// Quantizing libtorch tensors with the core kernels. The tensor's sizes are the shape that
// row, col and blockN scopes refer to.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "swalp/quantize.h"

namespace swalp::torchq {

// A new contiguous float32 tensor holding `x` quantized (x itself is untouched). A
// non-contiguous x is read through one contiguous copy. Throws InvalidInput for a dtype other
// than float32 or a device other than CPU, naming what is accepted.
at::Tensor quantize(const at::Tensor& x, const QuantSpec& spec);

// Quantizes `x` in place, without a copy when it is contiguous. Same errors as quantize.
void quantize_(at::Tensor& x, const QuantSpec& spec);

// Audit hook (tests): when set, sees the spec of every tensor quantize/quantize_ handle, in
// call order, on the calling thread. An empty function removes it.
void set_quantize_observer(std::function<void(const QuantSpec&)> observer);

}  // namespace swalp::torchq
