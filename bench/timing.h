// The best wall time of repeated runs, for benchmarks that compare against a reference measured
// in the same run.
#pragma once

#include <algorithm>
#include <chrono>

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

}  // namespace swalp::bench
