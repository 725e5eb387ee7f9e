// Image classification data as tensors: Fashion-MNIST (IDX files from Debian's
// dataset-fashion-mnist) and a seeded synthetic stand-in of the same shape for quick tests.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

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

// Ten classes of noisy class prototypes, [N, 1, 28, 28]; the prototypes are fixed, the seed
// draws labels and noise, so sets with different seeds share their classes.
Dataset make_synthetic_images(int64_t n, uint64_t seed);

}  // namespace swalp::engine
