// CIFAR binary files (the first input byte picks CIFAR-10 or CIFAR-100 records): load_cifar
// returns images and labels of matching counts with every label in range, or throws InvalidInput.
#include "fuzz_util.h"
#include "swalp/error.h"
#include "train/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swalp;
  if (size < 1) return 0;
  const int classes = data[0] % 2 ? 100 : 10;
  const std::string path = fuzz::as_file(data + 1, size - 1, ".bin");
  try {
    const engine::Dataset d = engine::load_cifar({path}, classes);
    fuzz::require(d.images.size(0) == d.labels.size(0), "image and label counts differ");
    if (d.size() > 0)
      fuzz::require(d.labels.min().item<int64_t>() >= 0 && d.labels.max().item<int64_t>() < classes,
                    "a label outside the classes");
  } catch (const InvalidInput&) {
  }
  return 0;
}
