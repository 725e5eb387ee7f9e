// `swalp train --model-parallel` (under mpirun): the split-MLP run of
// engine/distributed/model_parallel.h, into a run directory (metrics.csv, summary.json).
#pragma once

#include <string>

#include "train_config.h"

namespace swalp::cli {

// Throws InvalidInput for options a model-parallel run does not take; ends every worker when
// one fails.
void run_model_parallel(TrainArgs& args, const std::string& dir);

}  // namespace swalp::cli
