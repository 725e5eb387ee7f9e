// The best wall time of repeated runs, for benchmarks that compare against a reference measured
// in the same run.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace swalp::bench {

template <class Fn>
double best_seconds(int repetitions, const Fn& fn) {
  double best = 1e30;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count());
  }
  return best;
}

// The best wall time of each of fns, run in turn within every repetition: a reference and the
// kernels it is compared with see the same moments of a shared machine's load.
inline std::vector<double> best_seconds_interleaved(int repetitions,
                                                    const std::vector<std::function<void()>>& fns) {
  std::vector<double> best(fns.size(), 1e30);
  for (int r = 0; r < repetitions; ++r)
    for (size_t k = 0; k < fns.size(); ++k) best[k] = std::min(best[k], best_seconds(1, fns[k]));
  return best;
}

}  // namespace swalp::bench
