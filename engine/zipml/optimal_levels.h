// Quantization levels for stochastic rounding of data (ZipML): uniform, or variance-optimal by
// dynamic programming. Stochastic rounding of v between levels l <= v <= u has variance
// (v - l)(u - v); the optimal s levels minimize its sum over the data.
#pragma once

#include <cstdint>
#include <vector>

namespace swalp::zipml {

// s levels evenly spaced over [0, 1].
std::vector<double> uniform_levels(int s);

// Total stochastic-rounding variance of `values` (all within [levels.front(), levels.back()])
// on the sorted `levels`.
double rounding_variance(const std::vector<double>& values, const std::vector<double>& levels);

// The s levels (s >= 2, containing the minimum and the maximum of the values) minimizing
// rounding_variance, chosen among the distinct values: exact dynamic program, O(s M^2) for M
// distinct values.
std::vector<double> optimal_levels_exact(std::vector<double> values, int s);

// The same program over the edges of a `bins`-bin histogram on [min, max] (the data's mass kept
// at its bin means): O(s bins^2), for large data.
std::vector<double> optimal_levels_histogram(const std::vector<double>& values, int s, int bins);

}  // namespace swalp::zipml
