// Error model: user mistakes (bad spelling, bad shape, bad data) are InvalidInput and map to
// exit code 2 in the CLI; failures of the environment (I/O, resources) are RuntimeFailure, exit 1.
// Internal invariants use assert; nothing user-reachable aborts.
#pragma once

#include <stdexcept>
#include <string>

namespace swalp {

class InvalidInput : public std::runtime_error {
 public:
  explicit InvalidInput(const std::string& message) : std::runtime_error(message) {}
};

class RuntimeFailure : public std::runtime_error {
 public:
  explicit RuntimeFailure(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace swalp
