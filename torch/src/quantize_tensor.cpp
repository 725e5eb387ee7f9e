#include "swalp/torch/quantize_tensor.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "swalp/error.h"
#ifdef SWALP_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "quantize_cuda.h"
#endif

namespace swalp::torchq {

namespace {
std::function<void(const QuantSpec&)>& observer() {
  static std::function<void(const QuantSpec&)> hook;
  return hook;
}

void check_tensor(const at::Tensor& x) {
  if (x.scalar_type() != at::kFloat)
    throw InvalidInput(std::string("cannot quantize a tensor of dtype ") +
                       c10::toString(x.scalar_type()) + "; accepted: float32");
#ifdef SWALP_TORCH_CUDA
  if (!x.device().is_cpu() && !x.device().is_cuda())
    throw InvalidInput("cannot quantize a tensor on " + x.device().str() + "; accepted: cpu, cuda");
#else
  if (!x.device().is_cpu())
    throw InvalidInput("cannot quantize a tensor on " + x.device().str() +
                       " in this build (CUDA tensors need -DSWALP_CUDA=ON and a libtorch with "
                       "CUDA); accepted: cpu");
#endif
}

// The CPU quantizer, or the CUDA kernels on the tensor's device and current stream.
void quantize_on_device(const QuantSpec& spec, const at::Tensor& x, const float* in, float* out,
                        const std::vector<int64_t>& shape) {
#ifdef SWALP_TORCH_CUDA
  if (x.device().is_cuda()) {
    const c10::cuda::CUDAGuard guard(x.device());
    swalp::cuda::quantize(spec, in, out, size_t(x.numel()), shape,
                          c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
    return;
  }
#endif
  swalp::quantize(spec, in, out, size_t(x.numel()), shape);
}

std::vector<int64_t> shape_of(const at::Tensor& x) {
  const auto sizes = x.sizes();
  return std::vector<int64_t>(sizes.begin(), sizes.end());
}
}  // namespace

void set_quantize_observer(std::function<void(const QuantSpec&)> hook) {
  observer() = std::move(hook);
}

at::Tensor quantize(const at::Tensor& x, const QuantSpec& spec) {
  check_tensor(x);
  if (observer()) observer()(spec);
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::empty_like(in, at::MemoryFormat::Contiguous);
  quantize_on_device(spec, in, in.data_ptr<float>(), out.data_ptr<float>(), shape_of(in));
  return out;
}

void quantize_(at::Tensor& x, const QuantSpec& spec) {
  check_tensor(x);
  if (x.is_contiguous()) {
    if (observer()) observer()(spec);
    quantize_on_device(spec, x, x.data_ptr<float>(), x.data_ptr<float>(), shape_of(x));
  } else {
    x.copy_(quantize(x, spec));
  }
}

}  // namespace swalp::torchq
