// Builds without libtorch still know `swalp reproduce` and say what it needs.
#include "commands.h"
#include "swalp/error.h"

namespace swalp::cli {

void register_reproduce(CLI::App& app) {
  auto* cmd = app.add_subcommand("reproduce", "The SWALP comparison (needs a build with libtorch)");
  cmd->allow_extras();
  cmd->callback([] {
    throw RuntimeFailure(
        "this build of swalp has no libtorch: install Debian's libtorch-dev and rebuild");
  });
}

void register_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "One training run (needs a build with libtorch)");
  cmd->allow_extras();
  cmd->callback([] {
    throw RuntimeFailure(
        "this build of swalp has no libtorch: install Debian's libtorch-dev and rebuild");
  });
}

void register_bench_train(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("train", "Time a training step (needs a build with libtorch)");
  cmd->allow_extras();
  cmd->callback([] {
    throw RuntimeFailure(
        "this build of swalp has no libtorch: install Debian's libtorch-dev and rebuild");
  });
}

}  // namespace swalp::cli
