#include "train/models.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <optional>

#include "swalp/decimal.h"
#include "swalp/error.h"
#include "swalp/torch/accumulate.h"
#include "swalp/torch/lp_sgd.h"
#include "swalp/torch/quantizer.h"

namespace swalp::engine {

at::Tensor LowPrecisionNet::quant(const at::Tensor& x, uint64_t site) {
  if (!quantizers_enabled_ || (!quant_.activation && !quant_.error)) return x;
  torchq::QuantizerSpecs specs{quant_.activation, quant_.error};
  using torchq::Quantity;
  if (specs.forward)
    specs.forward->stream = torchq::compose_stream({Quantity::kActivation, pass_, site, counter_});
  if (specs.backward)
    specs.backward->stream = torchq::compose_stream({Quantity::kError, pass_, site, counter_});
  return torchq::quantize_with_grad(x, specs);
}

torchq::ProductStreams LowPrecisionNet::product_streams() {
  const uint64_t site = next_product_++;
  const auto stream = [&](uint64_t which) {
    return torchq::compose_stream({torchq::Quantity::kProduct, pass_, 3 * site + which, counter_});
  };
  return {stream(0), stream(1), stream(2)};
}

at::Tensor LowPrecisionNet::linear(torch::nn::LinearImpl& layer, const at::Tensor& x) {
  if (!quantizers_enabled_ || !quant_.accumulate) return layer.forward(x);
  return torchq::linear_accumulate(x, layer.weight, layer.bias, *quant_.accumulate,
                                   product_streams());
}

at::Tensor LowPrecisionNet::conv(torch::nn::Conv2dImpl& layer, const at::Tensor& x) {
  if (!quantizers_enabled_ || !quant_.accumulate) return layer.forward(x);
  const auto& o = layer.options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  if (!padding || o.groups() != 1 || (*o.dilation())[0] != 1 || (*o.dilation())[1] != 1 ||
      (*o.stride())[0] != (*o.stride())[1] || (**padding)[0] != (**padding)[1])
    throw InvalidInput(
        "matmul_accumulate: convolutions with groups, dilation or uneven stride "
        "or padding are not supported");
  return torchq::conv2d_accumulate(x, layer.weight, layer.bias, (*o.stride())[0], (**padding)[0],
                                   *quant_.accumulate, product_streams());
}

namespace {

namespace F = torch::nn::functional;

// He initialization of a convolution as the reference models do it (vgg_low.py lines 62-66,
// preresnet_low.py lines 122-128): weights N(0, 2 / (k * k * out_channels)), bias zero.
void he_init(torch::nn::Conv2d& conv) {
  c10::NoGradGuard no_grad;
  const auto& o = conv->options;
  const double n = double(o.kernel_size()->at(0) * o.kernel_size()->at(1) * o.out_channels());
  conv->weight.normal_(0.0, std::sqrt(2.0 / n));
  if (conv->bias.defined()) conv->bias.zero_();
}

class LogisticRegression : public LowPrecisionNet {
 public:
  explicit LogisticRegression(ActivationQuant q) : LowPrecisionNet(std::move(q)) {
    fc_ = register_module("fc", torch::nn::Linear(28 * 28, 10));
  }
  at::Tensor forward(at::Tensor x) override {
    begin_forward();
    return logits_site(linear(*fc_, input_site(x.flatten(1))));
  }

 private:
  torch::nn::Linear fc_{nullptr};
};

// 784-512-10 with the quantizer after the hidden ReLU (the placement of VGG16-LP's classifier).
class Mlp : public LowPrecisionNet {
 public:
  explicit Mlp(ActivationQuant q) : LowPrecisionNet(std::move(q)) {
    fc1_ = register_module("fc1", torch::nn::Linear(28 * 28, 512));
    fc2_ = register_module("fc2", torch::nn::Linear(512, 10));
  }
  at::Tensor forward(at::Tensor x) override {
    begin_forward();
    x = quant_next(linear(*fc1_, input_site(x.flatten(1))).relu());
    return logits_site(linear(*fc2_, x));
  }

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// Convolutions (5x5, padding 2, each followed by ReLU, its quantizer and 2x2 max pooling) and two
// linear layers, for 28x28 inputs: "cnn" has 16 and 32 channels and 128 hidden units; "lenet" is
// LeNet-5's shape (6 and 16 channels, 120 and 84 hidden units) with ReLU and max pooling.
class ConvNet : public LowPrecisionNet {
 public:
  ConvNet(ActivationQuant q, int64_t c1, int64_t c2, std::vector<int64_t> hidden)
      : LowPrecisionNet(std::move(q)) {
    conv1_ =
        register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, c1, 5).padding(2)));
    conv2_ =
        register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c1, c2, 5).padding(2)));
    int64_t width = c2 * 7 * 7;
    hidden.push_back(10);
    for (size_t i = 0; i < hidden.size(); ++i) {
      fcs_.push_back(
          register_module("fc" + std::to_string(i + 1), torch::nn::Linear(width, hidden[i])));
      width = hidden[i];
    }
  }
  at::Tensor forward(at::Tensor x) override {
    begin_forward();
    x = F::max_pool2d(quant_next(conv(*conv1_, input_site(x)).relu()), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(quant_next(conv(*conv2_, x).relu()), F::MaxPool2dFuncOptions(2)).flatten(1);
    for (size_t i = 0; i + 1 < fcs_.size(); ++i) x = quant_next(linear(*fcs_[i], x).relu());
    return logits_site(linear(*fcs_.back(), x));
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  std::vector<torch::nn::Linear> fcs_;
};

at::Tensor pad_to_32(const at::Tensor& x) {
  if (x.size(2) == 32 && x.size(3) == 32) return x;
  const int64_t ph = (32 - x.size(2)) / 2, pw = (32 - x.size(3)) / 2;
  return at::constant_pad_nd(x, {pw, 32 - x.size(3) - pw, ph, 32 - x.size(2) - ph}, 0);
}

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// VGG16-LP as models/vgg_low.py builds it: 13 conv3x3 each followed by ReLU and a quantizer
// (lines 26-29), max pooling after blocks, then the classifier Dropout, Linear, ReLU, quantizer,
// Dropout, Linear, ReLU, quantizer, Linear (lines 50-60): no BatchNorm, logits unquantized.
class Vgg16 : public LowPrecisionNet {
 public:
  Vgg16(ActivationQuant q, int64_t in_channels, int64_t classes) : LowPrecisionNet(std::move(q)) {
    const int64_t plan[] = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                            0,  512, 512, 512, 0,   512, 512, 512, 0};
    int64_t channels = in_channels;
    for (int64_t width : plan) {
      if (width == 0) {
        pools_after_.push_back(convs_.size());
        continue;
      }
      convs_.push_back(register_module(
          "conv" + std::to_string(convs_.size()),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, width, 3).padding(1))));
      he_init(convs_.back());
      channels = width;
    }
    dropout1_ = register_module("dropout1", torch::nn::Dropout(0.5));
    fc1_ = register_module("fc1", torch::nn::Linear(512, 512));
    dropout2_ = register_module("dropout2", torch::nn::Dropout(0.5));
    fc2_ = register_module("fc2", torch::nn::Linear(512, 512));
    fc3_ = register_module("fc3", torch::nn::Linear(512, classes));
  }
  at::Tensor forward(at::Tensor x) override {
    begin_forward();
    x = input_site(pad_to_32(x));
    size_t pool = 0;
    for (size_t i = 0; i < convs_.size(); ++i) {
      x = quant_next(conv(*convs_[i], x).relu());
      if (pool < pools_after_.size() && pools_after_[pool] == i + 1) {
        x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2));
        ++pool;
      }
    }
    x = quant_next(linear(*fc1_, dropout1_(x.flatten(1))).relu());
    x = quant_next(linear(*fc2_, dropout2_(x)).relu());
    return logits_site(linear(*fc3_, x));
  }

 private:
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<size_t> pools_after_;
  torch::nn::Dropout dropout1_{nullptr}, dropout2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

// Pre-activation residual block as models/preresnet_low.py builds it (BasicBlock lines 32-52,
// Bottleneck lines 72-98): BN, ReLU, quantizer, conv, quantizer per stage; the shortcut is the
// block input x itself or a 1x1 convolution of x, unquantized; bottlenecks widen by 4.
class PreActBlock : public torch::nn::Module {
 public:
  PreActBlock(int64_t in, int64_t planes, int64_t stride, bool bottleneck)
      : bottleneck_(bottleneck) {
    const int64_t out = bottleneck ? planes * 4 : planes;
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(in));
    if (bottleneck) {
      conv1_ = register_module(
          "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, planes, 1).bias(false)));
      bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv3x3(planes, planes, stride));
      bn3_ = register_module("bn3", torch::nn::BatchNorm2d(planes));
      conv3_ = register_module(
          "conv3", torch::nn::Conv2d(torch::nn::Conv2dOptions(planes, out, 1).bias(false)));
      he_init(conv3_);
    } else {
      conv1_ = register_module("conv1", conv3x3(in, planes, stride));
      bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv3x3(planes, planes));
    }
    he_init(conv1_);
    he_init(conv2_);
    if (stride != 1 || in != out) {
      shortcut_ = register_module(
          "shortcut",
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      he_init(shortcut_);
    }
  }
  at::Tensor forward(const at::Tensor& x, LowPrecisionNet& net) {
    at::Tensor out = net.quant_next(net.conv(*conv1_, net.quant_next(bn1_(x).relu())));
    out = net.quant_next(net.conv(*conv2_, net.quant_next(bn2_(out).relu())));
    if (bottleneck_) out = net.quant_next(net.conv(*conv3_, net.quant_next(bn3_(out).relu())));
    return out + (shortcut_ ? net.conv(*shortcut_, x) : x);
  }

 private:
  bool bottleneck_;
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, shortcut_{nullptr};
};

// PreResNet-LP (preresnet_low.py lines 103-160): conv, quantizer, the blocks, then BN, ReLU,
// average pooling and the linear layer, unquantized.
class PreResNet : public LowPrecisionNet {
 public:
  PreResNet(ActivationQuant q, int depth, int64_t in_channels, int64_t classes)
      : LowPrecisionNet(std::move(q)) {
    const bool bottleneck = depth >= 164 && (depth - 2) % 9 == 0;
    const int blocks = bottleneck ? (depth - 2) / 9 : (depth - 2) / 6;
    conv_ = register_module("conv", conv3x3(in_channels, 16));
    he_init(conv_);
    int64_t channels = 16;
    for (int stage = 0; stage < 3; ++stage) {
      const int64_t planes = int64_t(16) << stage;
      for (int b = 0; b < blocks; ++b) {
        blocks_.push_back(
            register_module("block" + std::to_string(stage) + "_" + std::to_string(b),
                            std::make_shared<PreActBlock>(
                                channels, planes, (stage > 0 && b == 0) ? 2 : 1, bottleneck)));
        channels = bottleneck ? planes * 4 : planes;
      }
    }
    bn_ = register_module("bn", torch::nn::BatchNorm2d(channels));
    fc_ = register_module("fc", torch::nn::Linear(channels, classes));
  }
  at::Tensor forward(at::Tensor x) override {
    begin_forward();
    x = quant_next(conv(*conv_, input_site(pad_to_32(x))));
    for (auto& block : blocks_) x = block->forward(x, *this);
    x = F::adaptive_avg_pool2d(bn_(x).relu(), F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return logits_site(linear(*fc_, x));
  }

 private:
  torch::nn::Conv2d conv_{nullptr};
  std::vector<std::shared_ptr<PreActBlock>> blocks_;
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

bool has_batchnorm(torch::nn::Module& model) {
  for (const auto& module : model.modules(/*include_self=*/false))
    if (module->as<torch::nn::BatchNorm2d>()) return true;
  return false;
}

void update_batchnorm(torch::nn::Module& model, const at::Tensor& images, int64_t batch_size,
                      uint64_t epoch, uint64_t evaluation) {
  std::vector<torch::nn::BatchNorm2dImpl*> norms;
  for (const auto& module : model.modules(false))
    if (auto* bn = module->as<torch::nn::BatchNorm2d>()) norms.push_back(bn);
  if (norms.empty()) return;
  std::vector<c10::optional<double>> momenta;
  for (auto* bn : norms) {
    bn->reset_running_stats();
    momenta.push_back(bn->options.momentum());
    bn->options.momentum(c10::nullopt);  // cumulative average over the pass
  }
  c10::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.train();
  auto* net = dynamic_cast<LowPrecisionNet*>(&model);
  const at::Device device = device_of(model);
  for (int64_t begin = 0, batch = 0; begin < images.size(0); begin += batch_size, ++batch) {
    net->set_stream_context(torchq::Pass::kBatchNormUpdate,
                            torchq::evaluation_counter(epoch, evaluation, uint64_t(batch)));
    net->forward(
        images.slice(0, begin, std::min<int64_t>(images.size(0), begin + batch_size)).to(device));
  }
  model.train(was_training);
  for (size_t i = 0; i < norms.size(); ++i) norms[i]->options.momentum(momenta[i]);
}

at::Device device_of(const torch::nn::Module& module) {
  const auto parameters = module.parameters();
  return parameters.empty() ? at::Device(at::kCPU) : parameters.front().device();
}

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {
      "logreg",      "mlp",         "cnn",         "lenet",        "vgg16",
      "preresnet20", "preresnet32", "preresnet56", "preresnet110", "preresnet164"};
  return names;
}

std::shared_ptr<LowPrecisionNet> make_model(const std::string& name, const ActivationQuant& quant,
                                            int64_t in_channels, int64_t classes) {
  const bool small_input_models = in_channels == 1 && classes == 10;
  if (name == "logreg" && small_input_models) return std::make_shared<LogisticRegression>(quant);
  if (name == "mlp" && small_input_models) return std::make_shared<Mlp>(quant);
  if (name == "cnn" && small_input_models)
    return std::make_shared<ConvNet>(quant, 16, 32, std::vector<int64_t>{128});
  if (name == "lenet" && small_input_models)
    return std::make_shared<ConvNet>(quant, 6, 16, std::vector<int64_t>{120, 84});
  if (name == "vgg16") return std::make_shared<Vgg16>(quant, in_channels, classes);
  if (name.rfind("preresnet", 0) == 0) {
    const int64_t depth = parse_decimal_int(name.substr(9)).value_or(0);
    const bool in_range = depth >= 8 && depth <= 1001, basic = in_range && (depth - 2) % 6 == 0,
               bottleneck = in_range && depth >= 164 && (depth - 2) % 9 == 0;
    if (basic || bottleneck)
      return std::make_shared<PreResNet>(quant, int(depth), in_channels, classes);
    throw InvalidInput("bad PreResNet depth in '" + name +
                       "': depth 8..1001 with depth - 2 a multiple of 6 (basic blocks: 20, 32, "
                       "56, 110) or, from 164 on, of 9 (bottlenecks: 164, 1001)");
  }
  if (name == "logreg" || name == "mlp" || name == "cnn" || name == "lenet")
    throw InvalidInput("model '" + name +
                       "' takes 28x28 single-channel images with 10 classes; use vgg16 or "
                       "preresnetD for other data");
  throw InvalidInput(
      "unknown model '" + name +
      "'; accepted: logreg, mlp, cnn, lenet, vgg16, preresnetD (D = 20, 32, 56, 110, 164, ...)");
}

}  // namespace swalp::engine
