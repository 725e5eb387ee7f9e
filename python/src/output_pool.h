// Outputs of swalp.quantize for large CPU tensors, from a small pool of freed buffers: a fresh
// 64 MiB output costs page faults and the kernel's zeroing (torch's own x.clone() runs at about
// a quarter of the quantizer's speed), while a loop that quantizes tensors of one size can reuse
// the memory of the previous, already freed, result. Bounded: at most kRetainedBytes are kept.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>

namespace swalp::python {

// Buffers smaller than this come from torch's allocator as usual.
inline constexpr size_t kPooledMinBytes = size_t(1) << 20;
inline constexpr size_t kRetainedBytes = size_t(512) << 20;

// An uninitialized contiguous float32 CPU tensor of `sizes`; its memory returns to the pool
// when the tensor is freed.
at::Tensor pooled_empty(at::IntArrayRef sizes);

// Frees every retained buffer (swalp.empty_cache()).
void release_pooled_buffers();

}  // namespace swalp::python
