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

TEST(Trainer, SchedulesFollowTheReference) {
  // train.py schedule(): 1% of lr_init from 90% of swa_start until swa_start, then swa_lr.
  TrainOptions o;
  o.lr_init = 0.1;
  o.swa_lr = 0.02;
  o.swa_start = 10;
  o.epochs = 20;
  EXPECT_DOUBLE_EQ(swa_learning_rate(o, 0), 0.1);
  EXPECT_DOUBLE_EQ(swa_learning_rate(o, 5), 0.1);                       // t = 0.5
  EXPECT_NEAR(swa_learning_rate(o, 7), 0.1 * (1 - 0.99 * 0.5), 1e-12);  // halfway down
  EXPECT_NEAR(swa_learning_rate(o, 9), 0.001, 1e-12);                   // t = 0.9: 1%
  EXPECT_NEAR(swa_learning_rate(o, 10), 0.02, 1e-12);                   // t = 1: swa_lr
  EXPECT_NEAR(swa_learning_rate(o, 19), 0.02, 1e-12);
  EXPECT_FALSE(averages_after(o, 8));
  EXPECT_TRUE(averages_after(o, 9));  // the annealed iterate after epoch swa_start joins
  // The SGD schedule: the same shape over all epochs, 1% to the end, nothing averaged.
  o.schedule = "sgd";
  EXPECT_DOUBLE_EQ(swa_learning_rate(o, 10), 0.1);
  EXPECT_NEAR(swa_learning_rate(o, 14), 0.1 * (1 - 0.99 * 0.5), 1e-12);
  EXPECT_NEAR(swa_learning_rate(o, 19), 0.001, 1e-12);
  EXPECT_FALSE(averages_after(o, 19));
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
  // The quantizers changed the trajectory.
  EXPECT_NE(fp.state_checksum, lp.state_checksum);
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
  // The default evaluates the average with fp32 activations only.
  EXPECT_GE(quantized.test_error_swa, 0);
  EXPECT_EQ(quantized.test_error_swa_lp, -1);
  o.eval = "both";
  const TrainResult both = train(o, train_set, test_set);
  // Same training and SGD evaluation (evaluation streams are their own), and the same fp32
  // evaluation of the average.
  EXPECT_EQ(quantized.state_checksum, both.state_checksum);
  EXPECT_EQ(quantized.test_error_sgd, both.test_error_sgd);
  EXPECT_EQ(quantized.test_error_swa, both.test_error_swa);
  EXPECT_GE(both.test_error_swa_lp, 0);
  o.eval = "quantized";  // the low-precision evaluation alone draws the same streams
  const TrainResult lp_only = train(o, train_set, test_set);
  EXPECT_EQ(lp_only.test_error_swa, -1);
  EXPECT_EQ(lp_only.test_error_swa_lp, both.test_error_swa_lp);
  o.eval = "float";
  try {
    train(o, train_set, test_set);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("accepted: fp32, quantized, both"), std::string::npos);
  }
}

TEST(Trainer, TheAnnealedIterateIsTheFirstAveragedAndSgdAveragesNothing) {
  const Dataset train_set = make_synthetic_images(400, 12),
                test_set = make_synthetic_images(200, 13);
  TrainOptions o;
  o.model = "mlp";
  o.epochs = 3;
  o.swa_start = 2;
  o.extra_averages = {{"", 0}, {"", 1}};  // fp32 per epoch (as the run's own), every step
  const TrainResult r = train(o, train_set, test_set);
  EXPECT_EQ(r.epochs[0].test_error_swa, -1);
  // After epoch swa_start the average holds that one iterate (no BatchNorm, fp32 model).
  EXPECT_EQ(r.epochs[1].test_error_swa, r.epochs[1].test_error_sgd);
  EXPECT_NEAR(r.epochs[2].lr, o.swa_lr, 1e-15);
  ASSERT_EQ(r.extra_average_errors.size(), 2u);
  EXPECT_EQ(r.extra_average_errors[0], r.test_error_swa);  // same average, same evaluation
  EXPECT_GE(r.extra_average_errors[1], 0);
  o.schedule = "sgd";
  o.extra_averages.clear();
  const TrainResult sgd = train(o, train_set, test_set);
  for (const EpochMetrics& m : sgd.epochs) EXPECT_EQ(m.test_error_swa, -1);
  EXPECT_NEAR(sgd.epochs[2].lr, o.lr_init * (1 - 0.99 * (2.0 / 3 - 0.5) / 0.4), 1e-15);
}

TEST(Trainer, BadOptionsNameTheAcceptedValues) {
  const Dataset d = make_synthetic_images(64, 7);
  TrainOptions o;
  o.model = "resnet9000";
  try {
    train(o, d, d);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("accepted: logreg, mlp, cnn, lenet"), std::string::npos);
  }
  o.model = "mlp";
  o.quant = QuantPlan::uniform("bfp:99");
  EXPECT_THROW(train(o, d, d), InvalidInput);
  o.quant = {};
  for (double momentum : {-1.0, 1.0, 2.0, std::nan("")}) {
    o.momentum = momentum;
    EXPECT_THROW(train(o, d, d), InvalidInput) << momentum;
  }
  o.momentum = 0.9;
  o.weight_decay = -1e-4;
  EXPECT_THROW(train(o, d, d), InvalidInput);
  o.weight_decay = 0;
  o.schedule = "cosine";
  EXPECT_THROW(train(o, d, d), InvalidInput);
}

}  // namespace
}  // namespace swalp::engine
