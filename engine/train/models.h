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
  // Off: activations and errors pass unquantized (evaluating a model in full precision).
  void set_quantizers_enabled(bool enabled) { quantizers_enabled_ = enabled; }
  // Numbers quantizer sites in call order within one forward pass (deep models, their blocks).
  void begin_forward() { next_site_ = 0; }
  at::Tensor quant_next(const at::Tensor& x) { return quant(x, next_site_++); }

 protected:
  // Quantizer number `site` of the forward pass.
  at::Tensor quant(const at::Tensor& x, uint64_t site);

 private:
  ActivationQuant quant_;
  uint64_t step_ = 0, next_site_ = 0;
  bool quantizers_enabled_ = true;
};

// "logreg", "mlp", "cnn" (28x28 inputs), "vgg16" (VGG16-LP: no BatchNorm, as in the paper) or
// "preresnetD" (PreResNet-LP of depth D: 20, 32, 56, 110 basic blocks; 164 bottlenecks) for
// 32x32 inputs (28x28 are zero-padded to 32x32). Throws InvalidInput naming the accepted models.
std::shared_ptr<LowPrecisionNet> make_model(const std::string& name, const ActivationQuant& quant,
                                            int64_t in_channels = 1, int64_t classes = 10);

// Recomputes BatchNorm running statistics with one pass over `images` in batches (the SWA
// recipe before evaluating an averaged model). Models without BatchNorm are left unchanged.
void update_batchnorm(torch::nn::Module& model, const at::Tensor& images, int64_t batch_size);

// The device of a module's first parameter (cpu for a module without parameters).
at::Device device_of(const torch::nn::Module& module);
bool has_batchnorm(torch::nn::Module& model);
const std::vector<std::string>& model_names();

}  // namespace swalp::engine
