#include "train/models.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "swalp/error.h"
#include "swalp/torch/lp_sgd.h"
#include "swalp/torch/quantizer.h"

namespace swalp::engine {

at::Tensor LowPrecisionNet::quant(const at::Tensor& x, uint64_t site) {
  if (!quant_.activation && !quant_.error) return x;
  torchq::QuantizerSpecs specs{quant_.activation, quant_.error};
  // Activation/error sites are numbered above the optimizer's per-parameter sites.
  const uint64_t stream = torchq::site_stream(step_, (uint64_t(1) << 19) | site);
  if (specs.forward) specs.forward->stream = stream;
  if (specs.backward) specs.backward->stream = stream ^ (uint64_t(1) << 18);
  return torchq::quantize_with_grad(x, specs);
}

namespace {

class LogisticRegression : public LowPrecisionNet {
 public:
  explicit LogisticRegression(ActivationQuant q) : LowPrecisionNet(std::move(q)) {
    fc_ = register_module("fc", torch::nn::Linear(28 * 28, 10));
  }
  at::Tensor forward(at::Tensor x) override { return quant(fc_(quant(x.flatten(1), 0)), 1); }

 private:
  torch::nn::Linear fc_{nullptr};
};

class Mlp : public LowPrecisionNet {
 public:
  explicit Mlp(ActivationQuant q) : LowPrecisionNet(std::move(q)) {
    fc1_ = register_module("fc1", torch::nn::Linear(28 * 28, 512));
    fc2_ = register_module("fc2", torch::nn::Linear(512, 10));
  }
  at::Tensor forward(at::Tensor x) override {
    x = quant(fc1_(quant(x.flatten(1), 0)), 1).relu();
    return quant(fc2_(x), 2);
  }

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// Two 5x5 convolutions with max pooling, then two linear layers (LeNet-like, 28x28 inputs).
class SmallCnn : public LowPrecisionNet {
 public:
  explicit SmallCnn(ActivationQuant q) : LowPrecisionNet(std::move(q)) {
    conv1_ =
        register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 5).padding(2)));
    conv2_ =
        register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 5).padding(2)));
    fc1_ = register_module("fc1", torch::nn::Linear(32 * 7 * 7, 128));
    fc2_ = register_module("fc2", torch::nn::Linear(128, 10));
  }
  at::Tensor forward(at::Tensor x) override {
    namespace F = torch::nn::functional;
    x = F::max_pool2d(quant(conv1_(quant(x, 0)), 1).relu(), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(quant(conv2_(x), 2).relu(), F::MaxPool2dFuncOptions(2));
    x = quant(fc1_(x.flatten(1)), 3).relu();
    return quant(fc2_(x), 4);
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"logreg", "mlp", "cnn"};
  return names;
}

std::shared_ptr<LowPrecisionNet> make_model(const std::string& name, const ActivationQuant& quant) {
  if (name == "logreg") return std::make_shared<LogisticRegression>(quant);
  if (name == "mlp") return std::make_shared<Mlp>(quant);
  if (name == "cnn") return std::make_shared<SmallCnn>(quant);
  throw InvalidInput("unknown model '" + name + "'; accepted: logreg, mlp, cnn");
}

}  // namespace swalp::engine
