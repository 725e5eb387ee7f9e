// What training prints on stderr: a progress bar within each epoch when stderr is a terminal,
// and one plain log line per epoch always (the only output when stderr is a file or a pipe).
#pragma once

#include "progress_line.h"
#include "train/trainer.h"

namespace swalp::cli {

class TrainingProgress {
 public:
  void on_step(const engine::StepProgress& p);
  void on_epoch(const engine::EpochMetrics& m);

 private:
  ProgressLine line_;
};

}  // namespace swalp::cli
