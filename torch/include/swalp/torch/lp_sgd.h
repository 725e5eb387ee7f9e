// SGD with every stored quantity in low precision, in the reference order of SWALP (Yang et al.,
// ICML 2019, Algorithm 1 with momentum, as in QPyTorch's OptimLP):
//   g   = Q_grad(grad)               gradient quantized (weight decay then added in fp32)
//   g  += weight_decay * acc         on the master weights, as the reference's torch SGD sees
//                                    them (SWALP utils.py train_batch sets p = acc before step)
//   m   = momentum * m + g           fp32 arithmetic
//   acc = Q_acc(acc - lr * m)        the accumulator holds the master weights
//   w   = Q_weight(acc)              the weights the next forward pass uses
//   m   = Q_momentum(m)
// A site without a spec stays fp32. Stochastic rounding draws the stream of (quantity, step,
// parameter number) from swalp/torch/streams.h, so a run is reproducible from its seed and
// independent of thread count; the start-up quantization of the weights has a pass of its own.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::torchq {

struct LowPrecisionSgdOptions {
  double momentum = 0.9;
  double weight_decay = 0.0;
  // Per-site formats; for a shared-scale format the scope applies per parameter tensor.
  std::optional<QuantSpec> grad, momentum_buffer, accumulator, weight;
  // Number of the first parameter in the model: parameter i draws the streams of index
  // first_parameter + i, so several optimizers over one model never share random bits.
  uint64_t first_parameter = 0;
};

class LowPrecisionSgd {
 public:
  // Takes the parameters (float32 CPU tensors); quantizes their values to the weight format at
  // once, so training starts from representable weights.
  LowPrecisionSgd(std::vector<at::Tensor> params, LowPrecisionSgdOptions options);

  // One update from the parameters' .grad(), at learning rate lr.
  void step(double lr);
  void zero_grad();
  uint64_t steps_taken() const { return step_; }

  const std::vector<at::Tensor>& parameters() const { return params_; }
  const std::vector<at::Tensor>& momentum_buffers() const { return momentum_; }
  const std::vector<at::Tensor>& accumulators() const { return accumulator_; }
  // For checkpoints: the buffers' values are overwritten in place (same shapes), and the step
  // counter that numbers the random streams is restored.
  void restore(const std::vector<at::Tensor>& momentum, const std::vector<at::Tensor>& accumulator,
               uint64_t steps);
  // Checkpoint entries, each named `prefix` + "momentum.I", "accumulator.I" or "steps".
  std::vector<std::pair<std::string, at::Tensor>> state_entries(const std::string& prefix) const;
  // Restores from the entries `read` returns by name (it throws for a missing one); throws
  // InvalidInput naming an entry of the wrong shape. Nothing changes unless every entry fits.
  void load_state_entries(const std::string& prefix,
                          const std::function<at::Tensor(const std::string&)>& read);

 private:
  // acc quantized to the accumulator format, then parameter i = acc in the weight format.
  void store_accumulator(size_t i, at::Tensor& acc);
  // spec with its stream set for (quantity, parameter i) at the current step or start-up
  QuantSpec at_site(const QuantSpec& spec, int quantity, size_t i) const;

  std::vector<at::Tensor> params_, momentum_, accumulator_;
  LowPrecisionSgdOptions options_;
  uint64_t step_ = 0;
  bool started_ = false;  // false while the constructor quantizes the initial weights
};

}  // namespace swalp::torchq
