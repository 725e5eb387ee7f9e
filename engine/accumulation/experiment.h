// `swalp accumulate`: how the error of a rounded sum grows with its length. Dot products and
// small matrix products of K terms (K = 2^min .. 2^max) summed in each accumulator under each
// rounding mode, on normal, uniform and all-positive data, against the sum in double.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace swalp::accumulation {

enum class Data { kNormal, kUniform, kPositive };
const char* data_name(Data data);

struct Options {
  // Accumulation specs (swalp/matmul.h), without the rounding: the rounding modes are crossed.
  std::vector<std::string> accumulators = {"fp16", "bf16", "float:8:13:chunk=128:outer=fp32"};
  std::vector<std::string> roundings = {"nearest", "stochastic"};
  std::vector<Data> data = {Data::kNormal, Data::kUniform, Data::kPositive};
  int min_log2_k = 6, max_log2_k = 16;
  size_t trials = 64;       // dot products per point (one x, a fresh y per trial)
  size_t matrix_size = 16;  // matrix products: (size x K) times (K x size)
  uint64_t seed = 1;
};

// One (kind, accumulator, rounding, data, K) point. The error is normwise:
// |s_hat - s| / sum |x_i y_i| for a dot product (for all-positive data the plain relative
// error), ||C_hat - C||_F / || |A| |B| ||_F for a matrix product; s and C in double.
struct Point {
  std::string kind;  // "dot" or "matmul"
  std::string accumulator, rounding, data;
  uint64_t k = 0;
  double mean_error = 0, max_error = 0;  // over the trials (matmul: one product)
};

// Least-squares slope of log(mean error) against log(K) for one series.
struct Fit {
  std::string kind, accumulator, rounding, data;
  double slope = 0;
};

struct Result {
  std::vector<Point> points;
  std::vector<Fit> fits;
};

// Throws InvalidInput for a bad spec or range. `on_point` (optional) after each point.
Result run(const Options& options, const std::function<void(const Point&)>& on_point = {});

}  // namespace swalp::accumulation
