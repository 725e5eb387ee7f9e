// The columns of an epoch's metrics, listed once: metrics.csv of `swalp train` and `swalp
// reproduce`, and the checkpoint's "metrics" entry all derive from this table.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "train/trainer.h"

namespace swalp::engine {

struct MetricColumn {
  const char* name;
  double EpochMetrics::*field;  // null for "epoch" (an int)
  const char* format;           // printf format of the CSV cell
  bool optional = false;        // -1 means "not evaluated": an empty CSV cell
};

const std::vector<MetricColumn>& metric_columns();

// "epoch,lr,...": the column names joined by commas.
std::string metrics_csv_header();
// One CSV row (no newline); -1 (not evaluated) is written as an empty cell.
std::string metrics_csv_row(const EpochMetrics& m);

// The metrics as a float64 tensor [epochs, columns] and back (for checkpoints); from_tensor
// throws InvalidInput when the column count differs.
at::Tensor metrics_to_tensor(const std::vector<EpochMetrics>& epochs);
std::vector<EpochMetrics> metrics_from_tensor(const at::Tensor& t);

}  // namespace swalp::engine
