#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "swalp/error.h"
#include "train/dataset.h"
#include "train/models.h"

namespace swalp::engine {
namespace {

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("swalp_cifar_" + name)).string();
}

void write_records(const std::string& path, int label_bytes, const std::vector<int>& labels,
                   bool truncate = false) {
  std::ofstream out(path, std::ios::binary);
  for (size_t r = 0; r < labels.size(); ++r) {
    for (int b = 0; b < label_bytes; ++b) out.put(char(b == label_bytes - 1 ? labels[r] : 3));
    for (int p = 0; p < 3 * 32 * 32; ++p) out.put(char((p + r) % 256));
  }
  if (truncate) out.put(char(1));
}

TEST(Cifar, ReadsCifar10And100Records) {
  write_records(temp("10.bin"), 1, {3, 9, 0});
  const Dataset d10 = load_cifar({temp("10.bin")}, 10);
  EXPECT_EQ(d10.images.sizes(), (c10::IntArrayRef{3, 3, 32, 32}));
  EXPECT_TRUE(at::equal(d10.labels, at::tensor({3, 9, 0}, at::kLong)));
  // Pixel 0 of record 0 is 0: normalized (0 - mean) / std of channel 0.
  EXPECT_NEAR(d10.images[0][0][0][0].item<float>(), -0.4914f / 0.2470f, 1e-5);
  write_records(temp("100.bin"), 2, {99, 42});
  const Dataset d100 = load_cifar({temp("100.bin")}, 100);
  EXPECT_TRUE(at::equal(d100.labels, at::tensor({99, 42}, at::kLong)));  // the fine label
  EXPECT_EQ(d100.classes, 100);
}

TEST(Cifar, BadFilesNameTheProblem) {
  auto message = [](const std::vector<std::string>& files, int classes) {
    try {
      load_cifar(files, classes);
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  write_records(temp("trunc.bin"), 1, {1, 2}, /*truncate=*/true);
  EXPECT_NE(message({temp("trunc.bin")}, 10).find("not a whole number"), std::string::npos);
  write_records(temp("label.bin"), 1, {1, 12});
  EXPECT_NE(message({temp("label.bin")}, 10).find("label 12 at record 1"), std::string::npos);
  EXPECT_NE(message({temp("missing.bin")}, 10).find("cannot open"), std::string::npos);
  EXPECT_NE(message({temp("label.bin")}, 7).find("10 or 100"), std::string::npos);
}

TEST(Augmentation, CropsAndFlipsWithinThePaddedImage) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor images = at::arange(2 * 3 * 8 * 8, at::kFloat).view({2, 3, 8, 8});
  const at::Tensor same = augment_crop_flip(images, gen, /*padding=*/0);
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(at::equal(same[i], images[i]) || at::equal(same[i], images[i].flip({2})));
  const at::Tensor moved = augment_crop_flip(images, gen, 4);
  EXPECT_EQ(moved.sizes(), images.sizes());
}

TEST(Models, PaperModelsTakeCifarAndPaddedFashionMnistShapes) {
  for (const char* name : {"vgg16", "preresnet20"}) {
    auto rgb = make_model(name, {}, 3, 100);
    EXPECT_EQ(rgb->forward(at::randn({2, 3, 32, 32})).sizes(), (c10::IntArrayRef{2, 100})) << name;
    auto gray = make_model(name, {}, 1, 10);
    EXPECT_EQ(gray->forward(at::randn({2, 1, 28, 28})).sizes(), (c10::IntArrayRef{2, 10})) << name;
  }
  auto deep = make_model("preresnet164", {}, 3, 10);  // bottleneck blocks, as in the paper
  EXPECT_EQ(deep->forward(at::randn({1, 3, 32, 32})).sizes(), (c10::IntArrayRef{1, 10}));
  EXPECT_THROW(make_model("preresnet21", {}, 3, 10), InvalidInput);
  EXPECT_THROW(make_model("mlp", {}, 3, 10), InvalidInput);
}

TEST(Models, BatchNormUpdateRecomputesStatisticsFromTheData) {
  at::manual_seed(7);  // fixed data and weights: the margins below were measured with them
  auto model = make_model("preresnet20", {}, 3, 10);
  ASSERT_TRUE(has_batchnorm(*model));
  EXPECT_FALSE(has_batchnorm(*make_model("mlp", {}, 1, 10)));
  torch::NoGradGuard no_grad;
  for (const auto& module : model->modules(false))
    if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.fill_(100);
      bn->running_var.fill_(1e-6);
    }
  const at::Tensor data = at::randn({64, 3, 32, 32});
  model->eval();
  const at::Tensor broken = model->forward(data);
  update_batchnorm(*model, data, /*batch_size=*/64);
  model->eval();
  const at::Tensor eval_out = model->forward(data);
  model->train();
  const at::Tensor train_out = model->forward(data);  // batch statistics of the same batch
  EXPECT_GT((broken - train_out).abs().max().item<float>(), 0.3f);  // garbage statistics show
  // One batch, cumulative average: eval uses that batch's statistics (unbiased variance).
  EXPECT_LT((eval_out - train_out).abs().max().item<float>(), 0.05f);
}

}  // namespace
}  // namespace swalp::engine
