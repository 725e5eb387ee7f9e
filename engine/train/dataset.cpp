#include "train/dataset.h"

#include <ATen/ATen.h>

#include "data/idx_reader.h"
#include "swalp/error.h"

namespace swalp::engine {

namespace {
// Fashion-MNIST pixel statistics (of the training split, pixels / 255).
constexpr double kMean = 0.2860, kStd = 0.3530;
}  // namespace

Dataset load_fashion_mnist(bool train, int64_t limit, const std::string& dir) {
  const std::string base =
      (dir.empty() ? data::default_fashion_mnist_dir() : dir) + "/" + (train ? "train" : "t10k");
  const data::IdxArray images = data::read_idx(base + "-images-idx3-ubyte.gz");
  const data::IdxArray labels = data::read_idx(base + "-labels-idx1-ubyte.gz");
  if (images.dims.size() != 3 || images.dims[1] != 28 || images.dims[2] != 28)
    throw InvalidInput("'" + base + "-images-idx3-ubyte.gz' does not hold 28x28 images");
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0])
    throw InvalidInput("'" + base + "-labels-idx1-ubyte.gz' has " + std::to_string(labels.dims[0]) +
                       " labels for " + std::to_string(images.dims[0]) + " images");
  int64_t n = images.dims[0];
  if (limit > 0) n = std::min(n, limit);
  Dataset d;
  const at::Tensor bytes =
      at::from_blob(const_cast<uint8_t*>(images.values.data()), {n, 1, 28, 28}, at::kByte);
  d.images = (bytes.to(at::kFloat) / 255.0 - kMean) / kStd;
  d.labels =
      at::from_blob(const_cast<uint8_t*>(labels.values.data()), {n}, at::kByte).to(at::kLong);
  if (d.labels.max().item<int64_t>() >= 10)
    throw InvalidInput("'" + base + "' has labels outside 0..9");
  d.name = std::string("fashion-mnist ") + (train ? "train" : "test");
  return d;
}

Dataset make_synthetic_images(int64_t n, uint64_t seed) {
  // The class prototypes are the same for every seed (train and test sets share classes);
  // the seed draws the labels and the noise.
  at::Generator prototype_gen = at::detail::createCPUGenerator(20190101);
  const at::Tensor prototypes = at::randn({10, 1, 28, 28}, prototype_gen);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  Dataset d;
  d.labels = at::randint(10, {n}, gen, at::kLong);
  d.images = prototypes.index_select(0, d.labels) + 1.5 * at::randn({n, 1, 28, 28}, gen);
  d.name = "synthetic";
  return d;
}

}  // namespace swalp::engine
