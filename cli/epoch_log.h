// One plain log line per epoch on stderr, shared by the training subcommands.
#pragma once

#include <cstdio>
#include <string>

#include "train/trainer.h"

namespace swalp::cli {

inline void log_epoch(const engine::EpochMetrics& m) {
  const std::string swa =
      m.test_error_swa < 0 ? "-" : std::to_string(m.test_error_swa).substr(0, 5) + "%";
  std::fprintf(
      stderr, "  epoch %3d  lr %.4f  loss %.4f  train %.2f%%  test SGD %.2f%%  SWA %s  %.1fs\n",
      m.epoch, m.lr, m.train_loss, m.train_error, m.test_error_sgd, swa.c_str(), m.seconds);
}

}  // namespace swalp::cli
