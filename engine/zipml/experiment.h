// `swalp zipml`: every method at every sample bit width on one data set, the bias of naive
// sampling against double sampling, and the bits optimal levels save over uniform ones.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "zipml/linear_sgd.h"

namespace swalp::zipml {

struct ZipmlOptions {
  std::string data = "synthetic";  // or "fashion-mnist", "libsvm:FILE"
  int64_t n = 10000, d = 50;       // synthetic
  double noise = 0.1;              // synthetic target noise
  int class_negative = 7, class_positive = 9;
  int64_t limit = 0;
  std::vector<int> bits = {1, 2, 3, 4, 6, 8};
  SgdOptions sgd;           // loss, epochs, lr, decay, l2, seed (method and bits per run)
  int bias_draws = 20;      // quantizations averaged to measure the gradient bias
  double tolerance = 0.01;  // "reaches full precision": final loss within this fraction
};

struct ZipmlRun {
  std::string method;  // naive | double | end-to-end | double-optimal
  int bits = 0;
  SgdResult result;
  bool diverged = false;  // final_loss is NaN then
  // Bits read per feature value in an epoch (samples of every copy plus refetches), averaged
  // over the epochs; fp32 reads 32.
  double bits_read_per_value = 0;
};

struct BiasRow {
  int bits = 0;
  double naive = 0, double_sampling = 0;  // |E[g] - full gradient| / |full gradient spread|
};

struct ZipmlResult {
  std::string description;
  int64_t n = 0, d = 0;  // examples and features of the data set
  SgdResult full;
  std::vector<ZipmlRun> runs;
  std::vector<BiasRow> bias;  // least squares / ls-svm only
  double bias_scale = 0;      // RMS of the per-example full-precision gradients at w
  // Fewest bits at which double sampling reaches the fp32 loss within `tolerance`, with uniform
  // and with optimal levels (0: none of the widths tried).
  int bits_uniform = 0, bits_optimal = 0;
  // Per optimal-level run: the uniform bit width with the same loss gap to fp32 (log-linear
  // interpolation between the uniform runs), and its ratio to the optimal run's bits.
  struct Equivalent {
    int bits = 0;
    double uniform_bits = 0, ratio = 0;
  };
  std::vector<Equivalent> equivalent_bits;
  double seconds = 0;
};

// Synthetic least squares: features N(0, 1) (heavy use of the middle of the range, where
// optimal levels help), targets a.w_true + noise, |w_true| = 1.
Dataset synthetic_regression(int64_t n, int64_t d, double noise, uint64_t seed);
// Two Fashion-MNIST training classes, 784 pixels in [0, 1], labels -1 / +1.
Dataset fashion_mnist_binary(int negative, int positive, int64_t limit);

ZipmlResult run_zipml(const ZipmlOptions& options,
                      const std::function<void(const std::string&, double)>& on_progress = {});

}  // namespace swalp::zipml
