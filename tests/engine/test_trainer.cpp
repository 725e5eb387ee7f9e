#include <gtest/gtest.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <cstdio>

#include "swalp/error.h"
#include "swalp/torch/quantize_tensor.h"
#include "train/models.h"
#include "train/trainer.h"

namespace swalp::engine {
namespace {

TEST(Trainer, SwaScheduleHoldsDecaysThenStaysAtTheSwaRate) {
  TrainOptions o;
  o.lr_init = 0.1;
  o.swa_lr = 0.02;
  o.swa_start = 10;
  EXPECT_DOUBLE_EQ(swa_learning_rate(o, 0), 0.1);
  EXPECT_DOUBLE_EQ(swa_learning_rate(o, 5), 0.1);                      // t = 0.5
  EXPECT_NEAR(swa_learning_rate(o, 7), 0.1 * (1 - 0.8 * 0.5), 1e-12);  // halfway down
  EXPECT_NEAR(swa_learning_rate(o, 9), 0.02, 1e-12);                   // t = 0.9
  EXPECT_NEAR(swa_learning_rate(o, 30), 0.02, 1e-12);
}

TEST(Trainer, LearnsSyntheticImagesInFullAndLowPrecision) {
  const Dataset train_set = make_synthetic_images(2000, 1),
                test_set = make_synthetic_images(500, 2);
  TrainOptions o;
  o.model = "logreg";
  o.epochs = 3;
  o.swa_start = 1;
  o.lr_init = 0.05;
  o.swa_lr = 0.02;
  const TrainResult fp = train(o, train_set, test_set);
  o.quant = QuantPlan::uniform("bfp:8");
  const TrainResult lp = train(o, train_set, test_set);
  for (const TrainResult* r : {&fp, &lp}) {
    ASSERT_EQ(r->epochs.size(), 3u);
    EXPECT_LT(r->test_error_sgd, 30.0);  // chance is 90%
    EXPECT_GE(r->test_error_swa, 0.0);   // averaged from epoch 2 on
    EXPECT_LT(r->epochs.back().train_loss, r->epochs.front().train_loss);
  }
  EXPECT_NE(fp.test_error_sgd, lp.test_error_sgd + 1000);  // both ran to the end
}

TEST(Trainer, SameSeedSameRunBitForBit) {
  const Dataset train_set = make_synthetic_images(600, 3), test_set = make_synthetic_images(200, 4);
  TrainOptions o;
  o.model = "mlp";
  o.epochs = 2;
  o.swa_start = 1;
  o.quant = QuantPlan::uniform("bfp:6");
  const TrainResult a = train(o, train_set, test_set), b = train(o, train_set, test_set);
  for (size_t e = 0; e < a.epochs.size(); ++e) {
    EXPECT_EQ(a.epochs[e].train_loss, b.epochs[e].train_loss);
    EXPECT_EQ(a.epochs[e].test_error_swa, b.epochs[e].test_error_swa);
  }
}

TEST(Trainer, DivergenceStopsWithAClearError) {
  const Dataset train_set = make_synthetic_images(512, 5), test_set = make_synthetic_images(64, 6);
  TrainOptions o;
  o.model = "mlp";
  o.epochs = 3;
  o.swa_start = 1;
  o.lr_init = 1e12;
  o.swa_lr = 1e12;
  try {
    train(o, train_set, test_set);
    FAIL() << "a diverging run finished";
  } catch (const RuntimeFailure& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos);
  }
}

TEST(Trainer, SwaFormatKeepsTheAverageOnItsGrid) {
  const Dataset train_set = make_synthetic_images(512, 8), test_set = make_synthetic_images(64, 9);
  const std::string checkpoint = ::testing::TempDir() + "swa_format_checkpoint.pt";
  std::remove(checkpoint.c_str());
  TrainOptions o;
  o.model = "logreg";
  o.epochs = 3;
  o.swa_start = 1;
  o.swa_every = 2;
  o.quant.swa = "bfp:6";
  o.checkpoint = checkpoint;
  const TrainResult r = train(o, train_set, test_set);
  ASSERT_GE(r.test_error_swa, 0);
  torch::serialize::InputArchive archive;
  archive.load_from(checkpoint);
  // The logistic regression's weight matrix (per-row scopes) and bias (whole tensor).
  for (const auto& [key, spelling] : {std::pair{"swa.0", "bfp:6:row"}, {"swa.1", "bfp:6:tensor"}}) {
    at::Tensor average;
    ASSERT_TRUE(archive.try_read(key, average)) << key;
    QuantSpec nearest = make_quant_spec(spelling, "nearest");
    EXPECT_TRUE(at::equal(swalp::torchq::quantize(average, nearest), average)) << key;
    EXPECT_GT(average.abs().sum().item<double>(), 0) << key;
  }
  std::remove(checkpoint.c_str());
}

TEST(Trainer, EvaluationWithoutQuantizersAndProgressPerStep) {
  const Dataset train_set = make_synthetic_images(300, 10),
                test_set = make_synthetic_images(200, 11);
  TrainOptions o;
  o.model = "mlp";
  o.epochs = 2;
  o.swa_start = 1;
  o.batch_size = 64;
  o.quant = QuantPlan::uniform("bfp:3");  // coarse activations change the test predictions
  std::vector<StepProgress> steps;
  const TrainResult quantized =
      train(o, train_set, test_set, {}, [&](const StepProgress& p) { steps.push_back(p); });
  ASSERT_EQ(steps.size(), 10u);  // 2 epochs x ceil(300 / 64) batches
  EXPECT_EQ(steps[4].batch, 5);
  EXPECT_EQ(steps[4].batches, 5);
  EXPECT_EQ(steps[5].epoch, 2);
  EXPECT_EQ(steps[5].batch, 1);
  EXPECT_GT(steps.back().loss, 0);
  o.eval = "fp32";
  const TrainResult fp32 = train(o, train_set, test_set);
  // Same training (evaluation draws no random numbers), other evaluation arithmetic.
  EXPECT_EQ(quantized.epochs.back().train_loss, fp32.epochs.back().train_loss);
  EXPECT_NE(quantized.test_error_sgd, fp32.test_error_sgd);
  o.eval = "float";
  try {
    train(o, train_set, test_set);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("accepted: quantized, fp32"), std::string::npos);
  }
}

TEST(Trainer, BadOptionsNameTheAcceptedValues) {
  const Dataset d = make_synthetic_images(64, 7);
  TrainOptions o;
  o.model = "resnet9000";
  try {
    train(o, d, d);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("accepted: logreg, mlp, cnn"), std::string::npos);
  }
  o.model = "mlp";
  o.quant = QuantPlan::uniform("bfp:99");
  EXPECT_THROW(train(o, d, d), InvalidInput);
}

}  // namespace
}  // namespace swalp::engine
