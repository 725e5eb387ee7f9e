// Layers whose matrix products round their sums (swalp/matmul.h) in the forward pass and in both
// backward products, for CPU float32 tensors. Each product has its own random stream:
// `streams.forward` for C = A B, `streams.grad_a` for dA = dC B^T, `streams.grad_b` for
// dB = A^T dC. Without a spec, callers keep libtorch's BLAS path.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "swalp/matmul.h"

namespace swalp::torchq {

struct ProductStreams {
  uint64_t forward = 0, grad_a = 0, grad_b = 0;
};

// C = A B for 2-D tensors (A: M x K, B: K x N); differentiable in A and B. Throws InvalidInput
// for other shapes, dtypes or devices.
at::Tensor matmul_accumulate(const at::Tensor& a, const at::Tensor& b, const AccumulateSpec& spec,
                             const ProductStreams& streams);

// y = x W^T + bias (x: batch x in, W: out x in; bias may be undefined).
at::Tensor linear_accumulate(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             const AccumulateSpec& spec, const ProductStreams& streams);

// A 2-D convolution (groups 1, dilation 1) through im2col: the product's sums run over
// in_channels x kernel taps (forward), batch x positions (weight gradient) and out_channels
// (input gradient).
at::Tensor conv2d_accumulate(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             int64_t stride, int64_t padding, const AccumulateSpec& spec,
                             const ProductStreams& streams);

}  // namespace swalp::torchq
