// Shared by the fuzz targets: the input as a file (the readers take paths), and a check that
// aborts (a finding) with a message.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace swalp::fuzz {

// Writes the input to a per-process scratch file and returns its path.
inline std::string as_file(const uint8_t* data, size_t size, const char* suffix = "") {
  const std::string path = "/tmp/swalp-fuzz-" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz finding: %s\n", what);
    std::abort();
  }
}

}  // namespace swalp::fuzz
