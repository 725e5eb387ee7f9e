#include "data/idx_reader.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>

#include "swalp/error.h"

namespace swalp::data {

namespace {
// gzread reads plain files as they are, so one reader serves .gz and raw IDX.
std::vector<uint8_t> read_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw InvalidInput("cannot open data file '" + path + "'");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> buffer(1 << 20);
  for (;;) {
    const int got = gzread(file, buffer.data(), unsigned(buffer.size()));
    if (got < 0) throw InvalidInput("data file '" + path + "' is corrupt (gzip error)");
    if (got == 0) break;
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + got);
  }
  return bytes;
}
}  // namespace

IdxArray read_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw InvalidInput("data file '" + path + "' is not an IDX file (bad magic number)");
  if (bytes[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02X", unsigned(bytes[2]));
    throw InvalidInput("data file '" + path + "' has IDX type " + type +
                       "; accepted: 0x08 (unsigned byte)");
  }
  const size_t rank = bytes[3];
  if (rank == 0 || bytes.size() < 4 + 4 * rank)
    throw InvalidInput("data file '" + path + "' is truncated (header)");
  IdxArray array;
  size_t count = 1;
  for (size_t d = 0; d < rank; ++d) {
    const uint8_t* p = bytes.data() + 4 + 4 * d;
    const uint32_t dim =
        (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    array.dims.push_back(dim);
    // Overflow would make a forged header agree with a short file.
    if (dim != 0 && count > std::numeric_limits<size_t>::max() / dim)
      throw InvalidInput("data file '" + path + "' is corrupt: its dimensions' product exceeds " +
                         std::to_string(std::numeric_limits<size_t>::max()));
    count *= dim;
  }
  const size_t header = 4 + 4 * rank;
  if (bytes.size() - header != count)
    throw InvalidInput("data file '" + path + "' holds " + std::to_string(bytes.size() - header) +
                       " data bytes but its header announces " + std::to_string(count) +
                       (bytes.size() - header < count ? " (truncated)" : " (trailing bytes)"));
  array.values.assign(bytes.begin() + header, bytes.end());
  return array;
}

std::string default_fashion_mnist_dir() {
  if (const char* dir = std::getenv("SWALP_FASHION_MNIST_DIR")) return dir;
  return "/usr/share/datasets/fashion-mnist";
}

}  // namespace swalp::data
