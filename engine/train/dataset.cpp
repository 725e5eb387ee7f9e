#include "train/dataset.h"

#include <ATen/ATen.h>

#include <fstream>
#include <iterator>

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
  if (n == 0) throw InvalidInput("'" + base + "-images-idx3-ubyte.gz' holds no images");
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

Dataset load_cifar(const std::vector<std::string>& files, int classes) {
  if (classes != 10 && classes != 100)
    throw InvalidInput("CIFAR has 10 or 100 classes (got " + std::to_string(classes) + ")");
  const size_t label_bytes = classes == 10 ? 1 : 2, record = label_bytes + 3 * 32 * 32;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InvalidInput("cannot open CIFAR file '" + file + "'");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    if (bytes.empty() || bytes.size() % record != 0)
      throw InvalidInput("CIFAR file '" + file + "' has " + std::to_string(bytes.size()) +
                         " bytes, not a whole number of " + std::to_string(record) +
                         "-byte records (truncated, or CIFAR-" +
                         std::to_string(classes == 10 ? 100 : 10) + "?)");
    for (size_t offset = 0; offset < bytes.size(); offset += record) {
      const int label = bytes[offset + label_bytes - 1];
      if (label >= classes)
        throw InvalidInput("CIFAR file '" + file + "' has label " + std::to_string(label) +
                           " at record " + std::to_string(offset / record) + "; accepted: 0.." +
                           std::to_string(classes - 1));
      labels.push_back(label);
      pixels.insert(pixels.end(), bytes.begin() + offset + label_bytes,
                    bytes.begin() + offset + record);
    }
  }
  const int64_t n = int64_t(labels.size());
  Dataset d;
  const at::Tensor raw =
      at::from_blob(pixels.data(), {n, 3, 32, 32}, at::kByte).to(at::kFloat) / 255.0;
  const at::Tensor mean = at::tensor({0.4914f, 0.4822f, 0.4465f}).view({1, 3, 1, 1});
  const at::Tensor std = at::tensor({0.2470f, 0.2435f, 0.2616f}).view({1, 3, 1, 1});
  d.images = (raw - mean) / std;
  d.labels = at::tensor(labels, at::kLong);
  d.classes = classes;
  d.name = "cifar-" + std::to_string(classes);
  return d;
}

at::Tensor augment_crop_flip(const at::Tensor& images, at::Generator& gen, int64_t padding) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  const at::Tensor padded = at::constant_pad_nd(images, {padding, padding, padding, padding}, 0);
  const at::Tensor offsets = at::randint(2 * padding + 1, {n, 2}, gen, at::kLong);
  const at::Tensor flips = at::randint(2, {n}, gen, at::kLong);
  at::Tensor out = at::empty_like(images);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t dy = offsets[i][0].item<int64_t>(), dx = offsets[i][1].item<int64_t>();
    at::Tensor crop = padded[i].slice(1, dy, dy + h).slice(2, dx, dx + w);
    if (flips[i].item<int64_t>()) crop = crop.flip({2});
    out[i].copy_(crop);
  }
  return out;
}

namespace {
Dataset first(Dataset d, int64_t limit) {
  if (limit > 0 && limit < d.size()) {
    d.images = d.images.slice(0, 0, limit);
    d.labels = d.labels.slice(0, 0, limit);
  }
  return d;
}
}  // namespace

DataSplits load_data(const std::string& spec, int64_t limit_train, int64_t limit_test) {
  if (limit_train < 0 || limit_test < 0)
    throw InvalidInput("bad example limit " + std::to_string(std::min(limit_train, limit_test)) +
                       "; accepted: 0 (all examples) or a positive count");
  DataSplits s;
  if (spec == "fashion-mnist" || spec.rfind("fashion-mnist:", 0) == 0) {
    const std::string dir = spec == "fashion-mnist" ? "" : spec.substr(14);
    s.train = load_fashion_mnist(true, limit_train, dir);
    s.test = load_fashion_mnist(false, limit_test, dir);
  } else if (spec == "synthetic") {
    s.train = make_synthetic_images(limit_train > 0 ? limit_train : 6000, 100);
    s.test = make_synthetic_images(limit_test > 0 ? limit_test : 2000, 200);
  } else if (spec.rfind("cifar10:", 0) == 0) {
    const std::string dir = spec.substr(8);
    std::vector<std::string> train_files;
    for (int b = 1; b <= 5; ++b)
      train_files.push_back(dir + "/data_batch_" + std::to_string(b) + ".bin");
    s.train = first(load_cifar(train_files, 10), limit_train);
    s.test = first(load_cifar({dir + "/test_batch.bin"}, 10), limit_test);
  } else if (spec.rfind("cifar100:", 0) == 0) {
    const std::string dir = spec.substr(9);
    s.train = first(load_cifar({dir + "/train.bin"}, 100), limit_train);
    s.test = first(load_cifar({dir + "/test.bin"}, 100), limit_test);
  } else {
    throw InvalidInput(
        "unknown data '" + spec +
        "'; accepted: fashion-mnist, fashion-mnist:DIR, synthetic, cifar10:DIR, cifar100:DIR");
  }
  return s;
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
