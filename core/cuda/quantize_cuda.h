// GPU quantize (built with -DSWALP_CUDA=ON): the contract of quantize() in swalp/quantize.h on
// device arrays, giving the CPU's bits for every format and rounding mode. The kernels are the
// scalar oracle (core/src/ref) per element in double arithmetic, Philox drawn in the kernel (no
// random tensor), per-scope maxima reduced into one word per scope (no full-size max tensor),
// launched on the caller's stream with launch errors checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::cuda {

// True when a CUDA device can be used (driver and device present).
bool available();

// Throws RuntimeFailure naming `what` and the CUDA error when `status` (a cudaError_t) is not
// cudaSuccess.
void check(int status, const char* what);

// in and out are device pointers (out may alias in exactly); `stream` is a cudaStream_t (null:
// the default stream). Throws InvalidInput like quantize() (shape, Inf in a bfp/int/dt8 scope)
// and RuntimeFailure for a CUDA error, naming the call.
void quantize(const QuantSpec& spec, const float* in, float* out, size_t n,
              const std::vector<int64_t>& shape = {}, void* stream = nullptr);

}  // namespace swalp::cuda
