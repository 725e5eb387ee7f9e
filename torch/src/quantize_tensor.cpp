#include "swalp/torch/quantize_tensor.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "swalp/error.h"

namespace swalp::torchq {

namespace {
void check_tensor(const at::Tensor& x) {
  if (x.scalar_type() != at::kFloat)
    throw InvalidInput(std::string("cannot quantize a tensor of dtype ") +
                       c10::toString(x.scalar_type()) + "; accepted: float32");
  if (!x.device().is_cpu())
    throw InvalidInput("cannot quantize a tensor on " + x.device().str() +
                       " in this build; accepted: cpu");
}

std::vector<int64_t> shape_of(const at::Tensor& x) {
  const auto sizes = x.sizes();
  return std::vector<int64_t>(sizes.begin(), sizes.end());
}
}  // namespace

at::Tensor quantize(const at::Tensor& x, const QuantSpec& spec) {
  check_tensor(x);
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::empty_like(in, at::MemoryFormat::Contiguous);
  swalp::quantize(spec, in.data_ptr<float>(), out.data_ptr<float>(), size_t(in.numel()),
                  shape_of(in));
  return out;
}

void quantize_(at::Tensor& x, const QuantSpec& spec) {
  check_tensor(x);
  if (x.is_contiguous()) {
    swalp::quantize(spec, x.data_ptr<float>(), x.data_ptr<float>(), size_t(x.numel()), shape_of(x));
  } else {
    x.copy_(quantize(x, spec));
  }
}

}  // namespace swalp::torchq
