// Error model: user mistakes (bad spelling, bad shape, bad data) are InvalidInput and map to
// exit code 2 in the CLI; failures of the environment (I/O, resources) are RuntimeFailure, exit 1.
// Internal invariants use assert; nothing user-reachable aborts.
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace swalp {

class InvalidInput : public std::runtime_error {
 public:
  explicit InvalidInput(const std::string& message) : std::runtime_error(message) {}
};

class RuntimeFailure : public std::runtime_error {
 public:
  explicit RuntimeFailure(const std::string& message) : std::runtime_error(message) {}
};

// A vector of `count` values whose size the user chose (--n, a data file): failure to allocate
// becomes RuntimeFailure "out of memory: N bytes for WHAT" instead of a bare std::bad_alloc.
template <typename T>
std::vector<T> allocate_values(size_t count, const std::string& what) {
  try {
    return std::vector<T>(count);
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  throw RuntimeFailure("out of memory: " + std::to_string(count) + " x " +
                       std::to_string(sizeof(T)) + " bytes for " + what);
}

}  // namespace swalp
