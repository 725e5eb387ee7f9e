// Image classification data as tensors: Fashion-MNIST (IDX files from Debian's
// dataset-fashion-mnist) and a seeded synthetic stand-in of the same shape for quick tests.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace swalp::engine {

struct Dataset {
  at::Tensor images;  // float32 [N, 1, 28, 28], normalized
  at::Tensor labels;  // int64 [N]
  int64_t classes = 10;
  std::string name;
  int64_t size() const { return labels.size(0); }
};

// The train or test split from `dir` (default: where the Debian package installs it), at most
// `limit` examples (0 = all). Throws InvalidInput naming a missing or corrupt file.
Dataset load_fashion_mnist(bool train, int64_t limit = 0, const std::string& dir = "");

// CIFAR-10 (classes 10: a label byte per record) or CIFAR-100 (classes 100: coarse and fine
// label bytes, the fine label is used) binary files, 3x32x32 images normalized per channel.
// Throws InvalidInput naming the file when it is missing, truncated or holds a bad label.
Dataset load_cifar(const std::vector<std::string>& files, int classes);

// The paper's augmentation: random crop of the image padded by `padding` zeros, and a random
// horizontal flip, per image, drawn from `gen`.
at::Tensor augment_crop_flip(const at::Tensor& images, at::Generator& gen, int64_t padding = 4);

struct DataSplits {
  Dataset train, test;
  int64_t channels() const { return train.images.size(1); }
};

// By name: "fashion-mnist" (Debian package) or "fashion-mnist:DIR" (the four .gz IDX files of
// Zalando's release in DIR), "synthetic", "cifar10:DIR" (data_batch_1..5.bin, test_batch.bin) or
// "cifar100:DIR" (train.bin, test.bin); limits of 0 keep every example.
// Throws InvalidInput naming the accepted names or the bad file.
DataSplits load_data(const std::string& spec, int64_t limit_train, int64_t limit_test);

// Ten classes of noisy class prototypes, [N, 1, 28, 28]; the prototypes are fixed, the seed
// draws labels and noise, so sets with different seeds share their classes.
Dataset make_synthetic_images(int64_t n, uint64_t seed);

}  // namespace swalp::engine
