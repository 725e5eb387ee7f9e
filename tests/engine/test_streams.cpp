// Random streams: the layout of streams.h, and an audit of every stochastic quantization of
// real training runs (all sites, the SWA average in low precision, evaluation and BatchNorm
// passes): no two draw the same (seed, stream) pair.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

#include "swalp/error.h"
#include "swalp/torch/quantize_tensor.h"
#include "swalp/torch/streams.h"
#include "train/trainer.h"

namespace swalp::engine {
namespace {

using torchq::compose_stream;
using torchq::Pass;
using torchq::Quantity;

TEST(Streams, FieldsRoundTripAndRangesAreChecked) {
  const torchq::StreamId id{Quantity::kError, Pass::kBatchNormUpdate, 65535,
                            (uint64_t(1) << 42) - 1};
  const torchq::StreamId back = torchq::decompose_stream(compose_stream(id));
  EXPECT_EQ(back.quantity, id.quantity);
  EXPECT_EQ(back.pass, id.pass);
  EXPECT_EQ(back.index, id.index);
  EXPECT_EQ(back.counter, id.counter);
  EXPECT_THROW(compose_stream({Quantity::kGrad, Pass::kTrain, 65536, 0}), InvalidInput);
  EXPECT_THROW(compose_stream({Quantity::kGrad, Pass::kTrain, 0, uint64_t(1) << 42}), InvalidInput);
  EXPECT_THROW(torchq::evaluation_counter(0, 4, 0), InvalidInput);
  EXPECT_NE(torchq::evaluation_counter(1, 0, 0), torchq::evaluation_counter(0, 0, 1));
  EXPECT_NE(torchq::evaluation_counter(0, 1, 0), torchq::evaluation_counter(0, 0, 1));
}

// Every (seed, stream) of a stochastic quantization in a run of `o`, with how often it was used.
std::map<std::pair<uint64_t, uint64_t>, int> streams_of_run(const TrainOptions& o,
                                                            const Dataset& train_set,
                                                            const Dataset& test_set) {
  std::map<std::pair<uint64_t, uint64_t>, int> uses;
  torchq::set_quantize_observer([&](const QuantSpec& spec) {
    if (spec.rounding == Rounding::kStochastic) ++uses[{spec.seed, spec.stream}];
  });
  train(o, train_set, test_set);
  torchq::set_quantize_observer({});
  return uses;
}

void expect_no_shared_stream(const std::map<std::pair<uint64_t, uint64_t>, int>& uses) {
  std::set<Quantity> quantities;
  std::set<Pass> passes;
  for (const auto& [key, count] : uses) {
    const torchq::StreamId id = torchq::decompose_stream(key.second);
    EXPECT_EQ(count, 1) << "stream quantity " << int(id.quantity) << " pass " << int(id.pass)
                        << " index " << id.index << " counter " << id.counter;
    quantities.insert(id.quantity);
    passes.insert(id.pass);
  }
  EXPECT_EQ(quantities.size(), 7u);  // grad, accumulator, weight, momentum, act., error, average
  EXPECT_GE(passes.size(), 3u);      // training, start-up, evaluation (+ BatchNorm update)
}

// bfp:8 with stochastic rounding at every site, a bfp:10 average, both evaluations.
TrainOptions audited(const std::string& model, int batch_size) {
  TrainOptions o;
  o.model = model;
  o.epochs = o.model == "mlp" ? 3 : 2;
  o.swa_start = 1;
  o.batch_size = batch_size;
  o.eval = "both";
  o.quant = QuantPlan::uniform("bfp:8", "stochastic");
  o.quant.swa = "bfp:10";
  return o;
}

TEST(Streams, NoTwoQuantizerSitesOfAnMlpRunShareRandomBits) {
  const Dataset train_set = make_synthetic_images(300, 21),
                test_set = make_synthetic_images(150, 22);
  TrainOptions o = audited("mlp", 64);
  o.swa_every = 2;
  o.quant.quantize_input = o.quant.quantize_logits = true;
  o.extra_averages = {{"bfp:8", 0}, {"bfp:8", 1}};
  const auto uses = streams_of_run(o, train_set, test_set);
  EXPECT_GT(uses.size(), 200u);
  expect_no_shared_stream(uses);
}

TEST(Streams, NoTwoSitesOfABatchNormModelShareRandomBits) {
  const Dataset train_set = make_synthetic_images(24, 23), test_set = make_synthetic_images(16, 24);
  const TrainOptions o = audited("preresnet20", 8);
  const auto uses = streams_of_run(o, train_set, test_set);
  expect_no_shared_stream(uses);
  bool batchnorm_pass = false;
  for (const auto& [key, count] : uses)
    batchnorm_pass |= torchq::decompose_stream(key.second).pass == Pass::kBatchNormUpdate;
  EXPECT_TRUE(batchnorm_pass);
}

}  // namespace
}  // namespace swalp::engine
