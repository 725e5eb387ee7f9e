// Models whose activations (forward) and errors (backward) pass through quantizers where the
// SWALP paper places them: on the input and after every linear or convolution layer. Weights are
// quantized by the optimizer (LowPrecisionSgd), not here.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::engine {

struct ActivationQuant {
  std::optional<QuantSpec> activation, error;
};

class LowPrecisionNet : public torch::nn::Module {
 public:
  explicit LowPrecisionNet(ActivationQuant quant) : quant_(std::move(quant)) {}
  virtual at::Tensor forward(at::Tensor x) = 0;
  // Stochastic rounding streams of the quantizers follow the optimizer step.
  void set_step(uint64_t step) { step_ = step; }

 protected:
  // Quantizer number `site` of the forward pass.
  at::Tensor quant(const at::Tensor& x, uint64_t site);

 private:
  ActivationQuant quant_;
  uint64_t step_ = 0;
};

// "logreg", "mlp" or "cnn"; throws InvalidInput naming the accepted models.
std::shared_ptr<LowPrecisionNet> make_model(const std::string& name, const ActivationQuant& quant);
const std::vector<std::string>& model_names();

}  // namespace swalp::engine
