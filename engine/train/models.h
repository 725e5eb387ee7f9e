// Models whose activations (forward) and errors (backward) pass through quantizers where the
// SWALP reference code places them (github stevenygd/SWALP, models/vgg_low.py and
// models/preresnet_low.py; docs/results.md lists each site with its line): after the ReLU of
// every hidden layer of VGG16-LP and the MLP/CNNs, around every convolution of PreResNet-LP;
// never on the network input or the logits unless asked (the references quantize neither).
// Weights are quantized by the optimizer (LowPrecisionSgd), not here.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swalp/matmul.h"
#include "swalp/quantize.h"
#include "swalp/torch/accumulate.h"
#include "swalp/torch/streams.h"

namespace torch::nn {
class LinearImpl;
class Conv2dImpl;
}  // namespace torch::nn

namespace swalp::engine {

struct ActivationQuant {
  std::optional<QuantSpec> activation, error;
  bool quantize_input = false, quantize_logits = false;  // sites the references leave out
  // Linear and convolution products with rounded sums (forward and both backward products);
  // none: libtorch's BLAS. Off with the quantizers (full-precision evaluation).
  std::optional<AccumulateSpec> accumulate;
};

class LowPrecisionNet : public torch::nn::Module {
 public:
  explicit LowPrecisionNet(ActivationQuant quant) : quant_(std::move(quant)) {}
  virtual at::Tensor forward(at::Tensor x) = 0;
  // The pass and counter of the quantizers' random streams (streams.h): a training step and its
  // number, or an evaluation/BatchNorm pass and its evaluation_counter().
  void set_stream_context(torchq::Pass pass, uint64_t counter) {
    pass_ = pass;
    counter_ = counter;
  }
  // Off: activations and errors pass unquantized (evaluating a model in full precision).
  void set_quantizers_enabled(bool enabled) { quantizers_enabled_ = enabled; }
  // Numbers quantizer sites in call order within one forward pass (deep models, their blocks).
  void begin_forward() { next_site_ = next_product_ = 0; }
  // The next quantizer site of the forward pass (activation forward, error backward).
  at::Tensor quant_next(const at::Tensor& x) { return quant(x, next_site_++); }
  // A linear or convolution layer: its products' sums rounded by ActivationQuant::accumulate
  // (each layer call a product site of its own, numbered in call order), else the layer itself.
  at::Tensor linear(torch::nn::LinearImpl& layer, const at::Tensor& x);
  at::Tensor conv(torch::nn::Conv2dImpl& layer, const at::Tensor& x);

 protected:
  // The network input and the logits: quantized only when asked (ActivationQuant).
  at::Tensor input_site(const at::Tensor& x) { return quant_.quantize_input ? quant_next(x) : x; }
  at::Tensor logits_site(const at::Tensor& x) { return quant_.quantize_logits ? quant_next(x) : x; }

 private:
  at::Tensor quant(const at::Tensor& x, uint64_t site);

  torchq::ProductStreams product_streams();

  ActivationQuant quant_;
  torchq::Pass pass_ = torchq::Pass::kTrain;
  uint64_t counter_ = 0, next_site_ = 0, next_product_ = 0;
  bool quantizers_enabled_ = true;
};

// "logreg", "mlp", "cnn", "lenet" (28x28 inputs), "vgg16" (VGG16-LP: no BatchNorm, Dropout in
// the classifier, as in the reference) or "preresnetD" (PreResNet-LP of depth D: 20, 32, 56, 110
// basic blocks; 164 bottlenecks) for 32x32 inputs (28x28 are zero-padded to 32x32). Throws
// InvalidInput naming the accepted models.
std::shared_ptr<LowPrecisionNet> make_model(const std::string& name, const ActivationQuant& quant,
                                            int64_t in_channels = 1, int64_t classes = 10);

// Recomputes BatchNorm running statistics with one pass over `images` in batches (the SWA
// recipe before evaluating an averaged model; utils.py bn_update in the reference), with the
// model's quantizers as they are set, drawing the streams of evaluation_counter(epoch,
// evaluation, batch). Models without BatchNorm are left unchanged.
void update_batchnorm(torch::nn::Module& model, const at::Tensor& images, int64_t batch_size,
                      uint64_t epoch = 0, uint64_t evaluation = 0);

// The device of a module's first parameter (cpu for a module without parameters).
at::Device device_of(const torch::nn::Module& module);
bool has_batchnorm(torch::nn::Module& model);
const std::vector<std::string>& model_names();

}  // namespace swalp::engine
