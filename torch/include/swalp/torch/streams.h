// The random streams of a training run, defined once. Every stochastic quantizer of a run uses
// the run's seed as its Philox key and one 64-bit stream id composed here from four fields:
//
//   bits 63..60  quantity  what is quantized (Quantity, 4 bits)
//   bits 59..58  pass      training step, start-up, evaluation or BatchNorm-update pass (2 bits)
//   bits 57..42  index     parameter number in the model, quantizer site number in one forward
//                          pass, or tensor number of the SWA average (16 bits: < 65536)
//   bits 41..0   counter   optimizer step, SWA update count, or evaluation_counter() (42 bits)
//
// compose_stream() is the only place that packs them and it checks every range, so two sites,
// parameters, steps or evaluation batches can never share random bits (tests/torch/test_streams).
#pragma once

#include <cstdint>
#include <string>

#include "swalp/error.h"

namespace swalp::torchq {

enum class Quantity : uint64_t {
  kGrad = 0,
  kAccumulator = 1,
  kWeight = 2,
  kMomentum = 3,
  kActivation = 4,  // forward values at a model's quantizer site
  kError = 5,       // backward errors at the same site
  kAverage = 6,     // the SWA average kept in a low-precision format
  kProduct = 7,     // the sums of a layer's matrix products (index: 3 * site + which product)
};

enum class Pass : uint64_t {
  kTrain = 0,            // a training step (counter: the optimizer step)
  kStartup = 1,          // quantizing the initial weights before step 0 (counter 0)
  kEvaluation = 2,       // test-set evaluation (counter: evaluation_counter)
  kBatchNormUpdate = 3,  // recomputing BatchNorm statistics (counter: evaluation_counter)
};

struct StreamField {
  int shift, bits;
  uint64_t limit() const { return uint64_t(1) << bits; }
};
inline constexpr StreamField kQuantityField{60, 4}, kPassField{58, 2}, kIndexField{42, 16},
    kCounterField{0, 42};

struct StreamId {
  Quantity quantity = Quantity::kGrad;
  Pass pass = Pass::kTrain;
  uint64_t index = 0, counter = 0;
};

// Packs the fields; throws InvalidInput naming the field and its range when one does not fit.
inline uint64_t compose_stream(const StreamId& id) {
  auto field = [](const char* name, uint64_t value, StreamField f) {
    if (value >= f.limit())
      throw InvalidInput(std::string("random stream field ") + name + " = " +
                         std::to_string(value) + " is out of range [0, " +
                         std::to_string(f.limit()) + ")");
    return value << f.shift;
  };
  return field("quantity", uint64_t(id.quantity), kQuantityField) |
         field("pass", uint64_t(id.pass), kPassField) | field("index", id.index, kIndexField) |
         field("counter", id.counter, kCounterField);
}

inline StreamId decompose_stream(uint64_t stream) {
  auto field = [&](StreamField f) { return (stream >> f.shift) & (f.limit() - 1); };
  return {Quantity(field(kQuantityField)), Pass(field(kPassField)), field(kIndexField),
          field(kCounterField)};
}

// The counter of batch `batch` of evaluation pass `evaluation` (0..3: which model is evaluated
// and how) after epoch `epoch`: 18 bits of epoch, 2 of evaluation, 22 of batch, range-checked.
inline uint64_t evaluation_counter(uint64_t epoch, uint64_t evaluation, uint64_t batch) {
  if (epoch >= (uint64_t(1) << 18) || evaluation >= 4 || batch >= (uint64_t(1) << 22))
    throw InvalidInput("evaluation stream out of range: epoch " + std::to_string(epoch) +
                       " (< 262144), evaluation " + std::to_string(evaluation) + " (< 4), batch " +
                       std::to_string(batch) + " (< 4194304)");
  return (epoch << 24) | (evaluation << 22) | batch;
}

}  // namespace swalp::torchq
