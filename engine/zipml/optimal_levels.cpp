#include "zipml/optimal_levels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "swalp/error.h"

namespace swalp::zipml {

std::vector<double> uniform_levels(int s) {
  if (s < 2) throw InvalidInput("need at least 2 levels");
  std::vector<double> levels(s);
  for (int k = 0; k < s; ++k) levels[k] = double(k) / double(s - 1);
  return levels;
}

double rounding_variance(const std::vector<double>& values, const std::vector<double>& levels) {
  double total = 0;
  for (double v : values) {
    auto upper = std::lower_bound(levels.begin(), levels.end(), v);
    if (upper == levels.end() || *upper == v || upper == levels.begin()) continue;
    total += (v - *(upper - 1)) * (*upper - v);
  }
  return total;
}

namespace {

// Weighted points (position, count, sum, sum of squares of the values they stand for); the
// DP places levels on point positions. cost(i, j) = sum over values strictly between points i
// and j of (v - p_i)(p_j - v) = -S2 + (p_i + p_j) S1 - p_i p_j S0, from prefix sums.
std::vector<double> dynamic_program(const std::vector<double>& position,
                                    const std::vector<double>& count,
                                    const std::vector<double>& sum,
                                    const std::vector<double>& sum_sq, int s) {
  const int m = int(position.size());
  if (m <= s) return position;
  std::vector<double> c0(m + 1, 0), c1(m + 1, 0), c2(m + 1, 0);
  for (int i = 0; i < m; ++i) {
    c0[i + 1] = c0[i] + count[i];
    c1[i + 1] = c1[i] + sum[i];
    c2[i + 1] = c2[i] + sum_sq[i];
  }
  auto cost = [&](int i, int j) {  // points i < j are levels; mass strictly between them
    const double s0 = c0[j] - c0[i + 1], s1 = c1[j] - c1[i + 1], s2 = c2[j] - c2[i + 1];
    const double a = position[i], b = position[j];
    return std::max(0.0, -s2 + (a + b) * s1 - a * b * s0);
  };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[k][j]: least cost with k + 1 levels, the last at point j, the first at point 0.
  std::vector<std::vector<double>> best(s, std::vector<double>(m, kInf));
  std::vector<std::vector<int>> from(s, std::vector<int>(m, -1));
  best[0][0] = 0;
  for (int k = 1; k < s; ++k)
    for (int j = k; j < m; ++j)
      for (int i = k - 1; i < j; ++i) {
        if (best[k - 1][i] == kInf) continue;
        const double c = best[k - 1][i] + cost(i, j);
        if (c < best[k][j]) best[k][j] = c, from[k][j] = i;
      }
  std::vector<double> levels(s);
  int j = m - 1;
  for (int k = s - 1; k >= 0; --k) {
    levels[k] = position[j];
    j = k > 0 ? from[k][j] : j;
  }
  return levels;
}

}  // namespace

std::vector<double> optimal_levels_exact(std::vector<double> values, int s) {
  if (s < 2) throw InvalidInput("need at least 2 levels");
  if (values.empty()) throw InvalidInput("no values to choose levels for");
  std::sort(values.begin(), values.end());
  std::vector<double> position, count, sum, sum_sq;
  for (double v : values) {
    if (position.empty() || position.back() != v) {
      position.push_back(v);
      count.push_back(0), sum.push_back(0), sum_sq.push_back(0);
    }
    count.back() += 1, sum.back() += v, sum_sq.back() += v * v;
  }
  return dynamic_program(position, count, sum, sum_sq, s);
}

std::vector<double> optimal_levels_histogram(const std::vector<double>& values, int s, int bins) {
  if (s < 2 || bins < 2) throw InvalidInput("need at least 2 levels and 2 bins");
  if (values.empty()) throw InvalidInput("no values to choose levels for");
  const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *lo_it, hi = *hi_it;
  if (lo == hi) return {lo, hi};
  // Candidate levels: the bin edges. Each bin's mass sits between its two edges.
  std::vector<double> position(bins + 1), count(bins + 1, 0), sum(bins + 1, 0), sum_sq(bins + 1, 0);
  for (int e = 0; e <= bins; ++e) position[e] = lo + (hi - lo) * double(e) / bins;
  std::vector<double> bin_count(bins, 0), bin_sum(bins, 0), bin_sq(bins, 0);
  for (double v : values) {
    const int b = std::min(bins - 1, int((v - lo) / (hi - lo) * bins));
    bin_count[b] += 1, bin_sum[b] += v, bin_sq[b] += v * v;
  }
  // Points between edges: put each bin's mass on a point just inside it (between the edges),
  // so that it counts as strictly between the levels around it.
  std::vector<double> p, c, s1, s2;
  for (int e = 0; e <= bins; ++e) {
    p.push_back(position[e]), c.push_back(0), s1.push_back(0), s2.push_back(0);
    if (e < bins && bin_count[e] > 0) {
      p.push_back(bin_sum[e] / bin_count[e]), c.push_back(bin_count[e]);
      s1.push_back(bin_sum[e]), s2.push_back(bin_sq[e]);
    }
  }
  // Only edges may become levels: run the program on all points, then it may pick a bin point;
  // rounding variance is what matters, and picking a mass point is allowed (it is data).
  return dynamic_program(p, c, s1, s2, s);
}

}  // namespace swalp::zipml
