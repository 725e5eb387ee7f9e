// SGD with every stored quantity in low precision, in the reference order of SWALP (Yang et al.,
// ICML 2019, Algorithm 1 with momentum, as in QPyTorch's OptimLP):
//   g   = Q_grad(grad)               gradient quantized (weight decay then added in fp32)
//   g  += weight_decay * w
//   m   = momentum * m + g           fp32 arithmetic
//   acc = Q_acc(acc - lr * m)        the accumulator holds the master weights
//   w   = Q_weight(acc)              the weights the next forward pass uses
//   m   = Q_momentum(m)
// A site without a spec stays fp32. Stochastic rounding draws stream `site_stream(step, site)`,
// so a run is reproducible from its seed and independent of thread count.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::torchq {

struct LowPrecisionSgdOptions {
  double momentum = 0.9;
  double weight_decay = 0.0;
  // Per-site formats; for a shared-scale format the scope applies per parameter tensor.
  std::optional<QuantSpec> grad, momentum_buffer, accumulator, weight;
};

// Random stream of quantization site `site` at optimizer step `step`.
inline uint64_t site_stream(uint64_t step, uint64_t site) { return (step << 20) | site; }

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

 private:
  // acc quantized to the accumulator format, then parameter i = acc in the weight format.
  void store_accumulator(size_t i, at::Tensor& acc);
  // spec with its stream set for (step, site)
  QuantSpec at_site(const QuantSpec& spec, uint64_t site) const;

  std::vector<at::Tensor> params_, momentum_, accumulator_;
  LowPrecisionSgdOptions options_;
  uint64_t step_ = 0;
};

}  // namespace swalp::torchq
