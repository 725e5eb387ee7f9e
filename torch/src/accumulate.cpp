#include "swalp/torch/accumulate.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <string>

#include "swalp/error.h"

namespace swalp::torchq {

namespace {

void check_operand(const at::Tensor& t, const char* name) {
  if (!t.defined() || t.dim() != 2 || t.scalar_type() != at::kFloat || !t.device().is_cpu())
    throw InvalidInput(
        std::string("matmul_accumulate: ") + name + " must be a 2-D float32 CPU tensor (got " +
        (t.defined() ? std::to_string(t.dim()) + "-D " +
                           std::string(c10::toString(t.scalar_type())) + " on " + t.device().str()
                     : std::string("an undefined tensor")) +
        ")");
}

// C = A B through swalp::matmul with the spec on `stream`.
at::Tensor product(const at::Tensor& a, const at::Tensor& b, AccumulateSpec spec, uint64_t stream) {
  const at::Tensor ac = a.contiguous(), bc = b.contiguous();
  at::Tensor c = at::empty({ac.size(0), bc.size(1)}, ac.options());
  spec.stream = stream;
  matmul(spec, ac.data_ptr<float>(), bc.data_ptr<float>(), c.data_ptr<float>(), size_t(ac.size(0)),
         size_t(bc.size(1)), size_t(ac.size(1)));
  return c;
}

struct AccumulatedMatmul : public torch::autograd::Function<AccumulatedMatmul> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a,
                            const at::Tensor& b, const AccumulateSpec* spec,
                            const ProductStreams* streams) {
    ctx->save_for_backward({a, b});
    // The spec travels as its spelling (parse_accumulate(spelling) == spec, seeds aside).
    ctx->saved_data["spelling"] = spec->spelling;
    ctx->saved_data["seed"] = int64_t(spec->seed);
    ctx->saved_data["grad_a"] = int64_t(streams->grad_a);
    ctx->saved_data["grad_b"] = int64_t(streams->grad_b);
    return product(a, b, *spec, streams->forward);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &a = saved[0], &b = saved[1], grad = grads[0].contiguous();
    const AccumulateSpec spec = parse_accumulate(ctx->saved_data["spelling"].toStringRef(),
                                                 uint64_t(ctx->saved_data["seed"].toInt()));
    at::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0))
      grad_a = product(grad, b.t(), spec, uint64_t(ctx->saved_data["grad_a"].toInt()));
    if (ctx->needs_input_grad(1))
      grad_b = product(a.t(), grad, spec, uint64_t(ctx->saved_data["grad_b"].toInt()));
    return {grad_a, grad_b, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor matmul_accumulate(const at::Tensor& a, const at::Tensor& b, const AccumulateSpec& spec,
                             const ProductStreams& streams) {
  check_operand(a, "A");
  check_operand(b, "B");
  if (a.size(1) != b.size(0))
    throw InvalidInput("matmul_accumulate: A is " + std::to_string(a.size(0)) + " x " +
                       std::to_string(a.size(1)) + " but B has " + std::to_string(b.size(0)) +
                       " rows");
  return AccumulatedMatmul::apply(a, b, &spec, &streams);
}

at::Tensor linear_accumulate(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             const AccumulateSpec& spec, const ProductStreams& streams) {
  at::Tensor y = matmul_accumulate(x, weight.t(), spec, streams);
  return bias.defined() ? y + bias : y;
}

at::Tensor conv2d_accumulate(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             int64_t stride, int64_t padding, const AccumulateSpec& spec,
                             const ProductStreams& streams) {
  if (x.dim() != 4 || weight.dim() != 4 || x.size(1) != weight.size(1))
    throw InvalidInput("conv2d_accumulate: x must be N x C x H x W and the weight O x C x kh x kw");
  const int64_t n = x.size(0), out = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  const int64_t ho = (x.size(2) + 2 * padding - kh) / stride + 1;
  const int64_t wo = (x.size(3) + 2 * padding - kw) / stride + 1;
  // cols: N x (C kh kw) x L, L = ho wo; as one (C kh kw) x (N L) operand.
  const at::Tensor cols = at::im2col(x, {kh, kw}, {1, 1}, {padding, padding}, {stride, stride});
  const at::Tensor operand = cols.permute({1, 0, 2}).reshape({cols.size(1), n * ho * wo});
  at::Tensor y = matmul_accumulate(weight.reshape({out, -1}), operand, spec, streams);
  y = y.reshape({out, n, ho, wo}).permute({1, 0, 2, 3});
  return bias.defined() ? y + bias.reshape({1, out, 1, 1}) : y.contiguous();
}

}  // namespace swalp::torchq
