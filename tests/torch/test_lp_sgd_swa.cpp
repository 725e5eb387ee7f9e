#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>

#include "swalp/torch/lp_sgd.h"
#include "swalp/torch/quantize_tensor.h"
#include "swalp/torch/swa.h"

namespace swalp::torchq {
namespace {

bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.sizes() == cb.sizes() &&
         std::memcmp(ca.data_ptr<float>(), cb.data_ptr<float>(), ca.numel() * sizeof(float)) == 0;
}

bool on_grid(const at::Tensor& x, const QuantSpec& spec) { return bit_equal(quantize(x, spec), x); }

TEST(LowPrecisionSgd, OneStepFollowsTheReferenceOrder) {
  // Deterministic formats (nearest) so that the step can be written out by hand.
  LowPrecisionSgdOptions options;
  options.momentum = 0.5;
  options.weight_decay = 0.25;
  options.grad = make_quant_spec("fixed:8:4");
  options.accumulator = make_quant_spec("fixed:16:10");
  options.weight = make_quant_spec("fixed:8:4");
  options.momentum_buffer = make_quant_spec("fixed:8:5");
  at::Tensor w = at::tensor({0.30f, -1.10f, 0.77f});
  LowPrecisionSgd sgd({w}, options);
  // Start: acc = Q_acc(w0) = {0.2998046875 (307/1024), -1.099609375, 0.76953125}; w = Q_w(acc).
  const at::Tensor acc0 = quantize(at::tensor({0.30f, -1.10f, 0.77f}), *options.accumulator);
  EXPECT_TRUE(bit_equal(sgd.accumulators()[0], acc0));
  EXPECT_TRUE(bit_equal(w, quantize(acc0, *options.weight)));
  const at::Tensor w0 = w.clone();

  w.mutable_grad() = at::tensor({0.40f, -0.03f, 1.00f});
  sgd.step(/*lr=*/0.5);
  // By hand, in the documented order.
  at::Tensor g =
      quantize(at::tensor({0.40f, -0.03f, 1.00f}), *options.grad);  // {0.375, -0.0625, 1}
  g = g + 0.25 * acc0;     // weight decay on the master weights (the accumulator)
  const at::Tensor m = g;  // momentum buffer started at zero
  const at::Tensor acc1 = quantize(acc0 - 0.5 * m, *options.accumulator);
  EXPECT_TRUE(bit_equal(sgd.accumulators()[0], acc1));
  EXPECT_TRUE(bit_equal(w, quantize(acc1, *options.weight)));
  EXPECT_TRUE(bit_equal(sgd.momentum_buffers()[0], quantize(m, *options.momentum_buffer)));
}

TEST(LowPrecisionSgd, EveryStoredQuantityStaysOnItsGrid) {
  LowPrecisionSgdOptions options;
  options.weight_decay = 5e-4;
  options.grad = make_quant_spec("bfp:8:row", "stochastic", 1);
  options.accumulator = make_quant_spec("bfp:8:row", "stochastic", 2);
  options.weight = make_quant_spec("bfp:8:row", "stochastic", 3);
  options.momentum_buffer = make_quant_spec("bfp:8:row", "stochastic", 4);
  at::manual_seed(0);
  at::Tensor w = at::randn({6, 5}) * 0.1;
  LowPrecisionSgd sgd({w}, options);
  const QuantSpec grid = make_quant_spec("bfp:8:row");  // nearest: idempotent on grid values
  for (int step = 0; step < 5; ++step) {
    w.mutable_grad() = at::randn({6, 5}) * 0.01;
    sgd.step(0.1);
    EXPECT_TRUE(on_grid(w, grid)) << "weights, step " << step;
    EXPECT_TRUE(on_grid(sgd.accumulators()[0], grid)) << "accumulator, step " << step;
    EXPECT_TRUE(on_grid(sgd.momentum_buffers()[0], grid)) << "momentum, step " << step;
  }
  EXPECT_EQ(sgd.steps_taken(), 5u);
}

TEST(LowPrecisionSgd, WithoutFormatsItIsPlainSgdWithMomentum) {
  at::Tensor w = at::tensor({1.0f, 2.0f});
  LowPrecisionSgdOptions options;
  options.momentum = 0.9;
  LowPrecisionSgd sgd({w}, options);
  w.mutable_grad() = at::tensor({0.5f, -1.0f});
  sgd.step(0.1);
  sgd.step(0.1);  // same grad: m = g, then 1.9 g
  EXPECT_TRUE(at::allclose(w, at::tensor({1.0f - 0.1f * 0.5f * 2.9f, 2.0f + 0.1f * 2.9f})));
}

TEST(SwaAverager, AverageIsTheMeanOfSnapshotsAndSwapRestores) {
  at::Tensor w = at::zeros({3});
  SwaAverager swa({w});
  std::vector<at::Tensor> snapshots = {at::tensor({1.f, 2.f, 3.f}), at::tensor({3.f, 2.f, 1.f}),
                                       at::tensor({2.f, 5.f, -4.f})};
  for (const auto& s : snapshots) {
    w.copy_(s);
    swa.update();
  }
  EXPECT_EQ(swa.count(), 3);
  EXPECT_TRUE(at::allclose(swa.average()[0], at::tensor({2.f, 3.f, 0.f}), 1e-6, 1e-6));
  const at::Tensor before = w.clone();
  swa.swap_in();
  EXPECT_TRUE(at::allclose(w, at::tensor({2.f, 3.f, 0.f}), 1e-6, 1e-6));
  swa.swap_in();
  EXPECT_TRUE(bit_equal(w, before));
}

TEST(SwaAverager, QuantizedAverageLiesOnTheFormatGrid) {
  at::Tensor w = at::zeros({4});
  SwaAverager swa({w}, make_quant_spec("fp8e4m3"));
  for (float v : {0.1f, 0.37f, 0.2f}) {
    w.fill_(v);
    swa.update();
    EXPECT_TRUE(on_grid(swa.average()[0], make_quant_spec("fp8e4m3")));
  }
}

TEST(SwaAverager, PerTensorFormatsQuantizeOnlyTheirTensor) {
  at::Tensor a = at::zeros({8}), b = at::zeros({8});
  SwaAverager swa({a, b}, {make_quant_spec("fixed:4:2"), std::nullopt});
  for (float v : {0.1f, 0.3f, 0.33f}) {
    a.fill_(v);
    b.fill_(v);
    swa.update();
  }
  EXPECT_TRUE(on_grid(swa.average()[0], make_quant_spec("fixed:4:2")));
  EXPECT_TRUE(at::allclose(swa.average()[1], at::full({8}, (0.1f + 0.3f + 0.33f) / 3), 1e-6, 0));
  EXPECT_FALSE(on_grid(swa.average()[1], make_quant_spec("fixed:4:2")));
}

}  // namespace
}  // namespace swalp::torchq
