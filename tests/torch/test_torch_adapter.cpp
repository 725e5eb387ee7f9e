#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "swalp/error.h"
#include "swalp/torch/quantize_tensor.h"
#include "swalp/torch/quantizer.h"

namespace swalp::torchq {
namespace {

bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.sizes() == cb.sizes() &&
         std::memcmp(ca.data_ptr<float>(), cb.data_ptr<float>(), ca.numel() * sizeof(float)) == 0;
}

// The core quantizer on the tensor's data, as the oracle of the adapter.
at::Tensor core_quantize(const at::Tensor& x, const QuantSpec& spec) {
  at::Tensor in = x.contiguous().clone();
  std::vector<int64_t> shape(in.sizes().begin(), in.sizes().end());
  swalp::quantize(spec, in.data_ptr<float>(), in.data_ptr<float>(), in.numel(), shape);
  return in;
}

TEST(TorchAdapter, QuantizeMatchesTheCoreWithTheTensorShape) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({16, 3, 3, 3}) * 0.1;
  for (const char* format :
       {"fp8e4m3", "bfp:8:row", "bfp:8:col", "mx:fp4e2m1:block9", "int:4:row"}) {
    const QuantSpec spec = make_quant_spec(format, "stochastic", 7);
    const at::Tensor q = quantize(x, spec);
    EXPECT_TRUE(bit_equal(q, core_quantize(x, spec))) << format;
    EXPECT_FALSE(bit_equal(q, x)) << format;  // something was rounded
  }
}

TEST(TorchAdapter, NonContiguousAndInPlace) {
  const at::Tensor x = at::randn({8, 12});
  const at::Tensor xt = x.t();  // non-contiguous view, shape [12, 8]
  const QuantSpec spec = make_quant_spec("bfp:6:row");
  const at::Tensor expected = core_quantize(xt.contiguous(), spec);
  EXPECT_TRUE(bit_equal(quantize(xt, spec), expected));
  at::Tensor view = x.clone().t();
  quantize_(view, spec);
  EXPECT_TRUE(bit_equal(view, expected));
  at::Tensor contiguous = xt.contiguous();
  const void* storage = contiguous.data_ptr();
  quantize_(contiguous, spec);
  EXPECT_EQ(contiguous.data_ptr(), storage);  // in place, no copy
  EXPECT_TRUE(bit_equal(contiguous, expected));
}

TEST(TorchAdapter, WrongDtypeIsAClearError) {
  const QuantSpec spec = make_quant_spec("fp16");
  try {
    quantize(at::ones({3}, at::kDouble), spec);
    FAIL() << "accepted float64";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("accepted: float32"), std::string::npos);
  }
}

TEST(TorchAdapter, QuantizerQuantizesValuesForwardAndErrorsBackward) {
  const at::Tensor x = (at::randn({5, 7}) * 3).set_requires_grad(true);
  const at::Tensor g = at::randn({5, 7}) * 1e-3;
  QuantizerSpecs specs;
  specs.forward = make_quant_spec("fp8e4m3");
  specs.backward = make_quant_spec("bf16", "stochastic", 3, 11);
  const at::Tensor y = quantize_with_grad(x, specs);
  EXPECT_TRUE(bit_equal(y.detach(), core_quantize(x.detach(), *specs.forward)));
  y.backward(g);
  EXPECT_TRUE(bit_equal(x.grad(), core_quantize(g, *specs.backward)));
}

TEST(TorchAdapter, QuantizerWithoutSpecsIsStraightThrough) {
  const at::Tensor x = at::randn({4, 4}).set_requires_grad(true);
  const at::Tensor g = at::randn({4, 4});
  QuantizerSpecs forward_only;
  forward_only.forward = make_quant_spec("fp4e2m1");
  const at::Tensor y = quantize_with_grad(x, forward_only);
  y.backward(g);
  EXPECT_TRUE(bit_equal(x.grad(), g));  // straight-through estimator
  x.grad().zero_();
  quantize_with_grad(x, QuantizerSpecs{}).backward(g);
  EXPECT_TRUE(bit_equal(x.grad(), g));
}

}  // namespace
}  // namespace swalp::torchq
