// What training prints on stderr: a progress bar within each epoch when stderr is a terminal,
// and one plain log line per epoch always (the only output when stderr is a file or a pipe).
#pragma once

#include <chrono>

#include "train/trainer.h"

namespace swalp::cli {

class TrainingProgress {
 public:
  // `bar`: draw the bar; by default when stderr is a terminal.
  TrainingProgress();
  explicit TrainingProgress(bool bar) : bar_(bar) {}

  void on_step(const engine::StepProgress& p);
  void on_epoch(const engine::EpochMetrics& m);

 private:
  bool bar_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace swalp::cli
