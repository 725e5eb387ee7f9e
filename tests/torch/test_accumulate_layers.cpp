// Linear and convolution layers whose products round their sums: with an exact accumulator they
// agree with libtorch's layers (values and both gradients); with fp16 the forward product is
// swalp::matmul's, bit for bit; bad operands are refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>

#include "swalp/error.h"
#include "swalp/matmul.h"
#include "swalp/torch/accumulate.h"

namespace swalp::torchq {
namespace {

const ProductStreams kStreams{1, 2, 3};

void expect_close(const at::Tensor& a, const at::Tensor& b, double tolerance, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double scale = b.abs().max().item<double>() + 1e-30;
  EXPECT_LT((a - b).abs().max().item<double>() / scale, tolerance) << what;
}

TEST(AccumulateLayers, ExactLinearMatchesTorchValuesAndGradients) {
  torch::manual_seed(1);
  const at::Tensor x0 = torch::randn({7, 33}), w0 = torch::randn({5, 33}), b0 = torch::randn({5});
  const AccumulateSpec exact = parse_accumulate("exact");
  at::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(),
             b = b0.clone().requires_grad_();
  at::Tensor y = linear_accumulate(x, w, b, exact, kStreams);
  (y * y).sum().backward();
  at::Tensor xr = x0.clone().requires_grad_(), wr = w0.clone().requires_grad_(),
             br = b0.clone().requires_grad_();
  at::Tensor yr = torch::nn::functional::linear(xr, wr, br);
  (yr * yr).sum().backward();
  expect_close(y, yr, 1e-6, "values");
  expect_close(x.grad(), xr.grad(), 1e-6, "input gradient");
  expect_close(w.grad(), wr.grad(), 1e-6, "weight gradient");
  expect_close(b.grad(), br.grad(), 1e-6, "bias gradient");
}

TEST(AccumulateLayers, ExactConvolutionMatchesTorchValuesAndGradients) {
  torch::manual_seed(2);
  for (auto [stride, padding] : {std::pair<int64_t, int64_t>{1, 1}, {2, 0}, {2, 2}}) {
    const at::Tensor x0 = torch::randn({3, 4, 9, 8}), w0 = torch::randn({6, 4, 3, 3}),
                     b0 = torch::randn({6});
    at::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(),
               b = b0.clone().requires_grad_();
    at::Tensor y = conv2d_accumulate(x, w, b, stride, padding, parse_accumulate("exact"), kStreams);
    (y * y).sum().backward();
    at::Tensor xr = x0.clone().requires_grad_(), wr = w0.clone().requires_grad_(),
               br = b0.clone().requires_grad_();
    at::Tensor yr = at::conv2d(xr, wr, br, {stride, stride}, {padding, padding});
    (yr * yr).sum().backward();
    expect_close(y, yr, 1e-5, "values");
    expect_close(x.grad(), xr.grad(), 1e-5, "input gradient");
    expect_close(w.grad(), wr.grad(), 1e-5, "weight gradient");
    expect_close(b.grad(), br.grad(), 1e-5, "bias gradient");
  }
}

TEST(AccumulateLayers, Fp16ProductsAreSwalpMatmulBitForBit) {
  torch::manual_seed(3);
  const at::Tensor a = torch::randn({6, 300}) * 4, b = torch::randn({300, 10});
  for (const char* spelling : {"fp16", "bf16:rounding=stochastic", "fp16:chunk=16:outer=fp32"}) {
    const AccumulateSpec spec = parse_accumulate(spelling, 9);
    const at::Tensor c = matmul_accumulate(a, b, spec, kStreams);
    AccumulateSpec with_stream = spec;
    with_stream.stream = kStreams.forward;
    std::vector<float> expected(60);
    matmul(with_stream, a.data_ptr<float>(), b.data_ptr<float>(), expected.data(), 6, 10, 300);
    EXPECT_EQ(std::memcmp(c.data_ptr<float>(), expected.data(), 60 * sizeof(float)), 0) << spelling;
    const at::Tensor exact = at::mm(a, b);
    EXPECT_GT((c - exact).abs().max().item<double>(), 0.0) << spelling << " rounds nothing";
  }
}

TEST(AccumulateLayers, BackwardProductsUseTheirOwnStreams) {
  torch::manual_seed(4);
  const at::Tensor x0 = torch::randn({8, 64}), w0 = torch::randn({16, 64});
  const AccumulateSpec spec = parse_accumulate("bf16:rounding=stochastic", 5);
  const auto grad_with = [&](ProductStreams streams) {
    at::Tensor x = x0.clone().requires_grad_();
    linear_accumulate(x, w0, at::Tensor(), spec, streams).sum().backward();
    return x.grad();
  };
  EXPECT_TRUE(at::equal(grad_with({1, 2, 3}), grad_with({1, 2, 3})));
  EXPECT_FALSE(at::equal(grad_with({1, 2, 3}), grad_with({1, 7, 3})));
}

TEST(AccumulateLayers, BadOperandsAreRefused) {
  const AccumulateSpec spec = parse_accumulate("fp16");
  EXPECT_THROW(matmul_accumulate(torch::ones({2, 3, 4}), torch::ones({4, 2}), spec, kStreams),
               InvalidInput);
  EXPECT_THROW(
      matmul_accumulate(torch::ones({2, 3}, at::kDouble), torch::ones({3, 2}), spec, kStreams),
      InvalidInput);
  EXPECT_THROW(matmul_accumulate(torch::ones({2, 3}), torch::ones({4, 2}), spec, kStreams),
               InvalidInput);
  EXPECT_THROW(conv2d_accumulate(torch::ones({1, 2, 5, 5}), torch::ones({3, 4, 3, 3}), at::Tensor(),
                                 1, 0, spec, kStreams),
               InvalidInput);
}

}  // namespace
}  // namespace swalp::torchq
