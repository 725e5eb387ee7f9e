#include "training_binary.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>

namespace swalp::cli {

bool needs_training_binary(int argc, char** argv) {
  static const std::set<std::string> light = {"formats", "quantize", "error-stats",
                                              "theory",  "zipml",    "accumulate"};
  static const std::set<std::string> light_bench = {"quantize", "zipml", "matmul"};
  if (argc < 2) return true;  // the usage message lists every command
  const std::string command = argv[1];
  if (command == "bench") return argc < 3 || !light_bench.count(argv[2]);
  return !light.count(command);
}

void exec_training_binary(char** argv) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return;
  const std::string training = (self.parent_path() / "swalp-training").string();
  ::execv(training.c_str(), argv);
}

}  // namespace swalp::cli
