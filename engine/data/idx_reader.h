// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace swalp::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // unsigned-byte IDX only (type code 0x08)
};

// Reads an unsigned-byte IDX file (.gz or not). Throws InvalidInput naming the file and the
// problem (missing, bad magic, wrong type, truncated, trailing bytes).
IdxArray read_idx(const std::string& path);

// Where Debian's dataset-fashion-mnist package installs the data.
std::string default_fashion_mnist_dir();

}  // namespace swalp::data
