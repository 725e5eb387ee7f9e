#include "train/metrics.h"

#include <ATen/ATen.h>

#include <cstdio>

#include "swalp/error.h"

namespace swalp::engine {

const std::vector<MetricColumn>& metric_columns() {
  static const std::vector<MetricColumn> columns = {
      {"epoch", nullptr, "%.0f"},
      {"lr", &EpochMetrics::lr, "%.9g"},
      {"train_loss", &EpochMetrics::train_loss, "%.17g"},
      {"train_error", &EpochMetrics::train_error, "%.6f"},
      {"test_error_sgd", &EpochMetrics::test_error_sgd, "%.6f"},
      {"test_error_swa", &EpochMetrics::test_error_swa, "%.6f", true},
      {"test_error_swa_lp", &EpochMetrics::test_error_swa_lp, "%.6f", true},
      {"seconds", &EpochMetrics::seconds, "%.3f"},
  };
  return columns;
}

namespace {
double value_of(const EpochMetrics& m, const MetricColumn& c) {
  return c.field ? m.*c.field : double(m.epoch);
}
}  // namespace

std::string metrics_csv_header() {
  std::string header;
  for (const MetricColumn& c : metric_columns())
    header += (header.empty() ? "" : ",") + std::string(c.name);
  return header;
}

std::string metrics_csv_row(const EpochMetrics& m) {
  std::string row;
  bool first = true;
  for (const MetricColumn& c : metric_columns()) {
    if (!first) row += ",";
    first = false;
    const double v = value_of(m, c);
    if (c.optional && v == -1.0) continue;
    char cell[64];
    std::snprintf(cell, sizeof cell, c.format, v);
    row += cell;
  }
  return row;
}

at::Tensor metrics_to_tensor(const std::vector<EpochMetrics>& epochs) {
  const auto& columns = metric_columns();
  at::Tensor t = at::zeros({int64_t(epochs.size()), int64_t(columns.size())}, at::kDouble);
  auto cells = t.accessor<double, 2>();
  for (size_t e = 0; e < epochs.size(); ++e)
    for (size_t c = 0; c < columns.size(); ++c) cells[e][c] = value_of(epochs[e], columns[c]);
  return t;
}

std::vector<EpochMetrics> metrics_from_tensor(const at::Tensor& t) {
  const auto& columns = metric_columns();
  if (t.dim() != 2 || t.size(1) != int64_t(columns.size()) || t.scalar_type() != at::kDouble)
    throw InvalidInput("checkpoint metrics have another layout (another swalp version?)");
  std::vector<EpochMetrics> epochs;
  auto cells = t.accessor<double, 2>();
  for (int64_t e = 0; e < t.size(0); ++e) {
    EpochMetrics m;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].field)
        m.*columns[c].field = cells[e][c];
      else
        m.epoch = int(cells[e][c]);
    }
    epochs.push_back(m);
  }
  return epochs;
}

}  // namespace swalp::engine
