// Stochastic weight averaging: the running equal-weight mean of the iterates, kept in fp32 (or
// quantized to a given format after each update), and a way to evaluate with it.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::torchq {

class SwaAverager {
 public:
  // Averages these tensors (the model's parameters); `format` quantizes the average itself.
  explicit SwaAverager(std::vector<at::Tensor> tracked, std::optional<QuantSpec> format = {});
  // One format per tracked tensor (std::nullopt: that average stays fp32). Tensor i draws the
  // random streams of index first_index + i (streams.h), so several averages stay independent.
  SwaAverager(std::vector<at::Tensor> tracked, std::vector<std::optional<QuantSpec>> formats,
              uint64_t first_index = 0);

  // Adds the tracked tensors' current values: mean <- mean + (x - mean) / (n + 1).
  void update();
  int64_t count() const { return count_; }
  const std::vector<at::Tensor>& average() const { return average_; }
  // For checkpoints: overwrite the average in place and the count.
  void restore(const std::vector<at::Tensor>& average, int64_t count);
  // Checkpoint entries, named `prefix` + "I" (the average of tensor I) and `prefix` + "count".
  std::vector<std::pair<std::string, at::Tensor>> state_entries(const std::string& prefix) const;
  // Restores from the entries `read` returns by name; throws InvalidInput naming an entry that
  // does not fit. Nothing changes unless every entry fits.
  void load_state_entries(const std::string& prefix,
                          const std::function<at::Tensor(const std::string&)>& read);

  // Swaps the average into the tracked tensors (for evaluation) and back; swapping twice restores.
  void swap_in();

 private:
  std::vector<at::Tensor> tracked_, average_;
  std::vector<std::optional<QuantSpec>> formats_;
  int64_t count_ = 0;
  uint64_t first_index_ = 0;
};

}  // namespace swalp::torchq
