// Times the rounded-accumulation product next to the BLAS sgemm of the same matrices, same
// threads, in the same run.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "swalp/matmul.h"

namespace swalp::bench {

struct MatmulTiming {
  std::string accumulate, shape, blas;
  size_t m = 0, n = 0, k = 0;
  int threads = 1;
  double gflops = 0;        // 2 M N K / seconds, swalp::matmul
  double sgemm_gflops = 0;  // cblas_sgemm on the same A, B
  double ratio() const { return sgemm_gflops > 0 ? gflops / sgemm_gflops : 0; }
  std::string json() const;
};

// The BLAS the process runs (OpenBLAS reports its configuration; else "reference BLAS").
std::string blas_name();

// A (M x K) and B (K x N) from a seeded normal draw.
struct MatmulInputs {
  size_t m, n, k;
  std::vector<float> a, b;
  MatmulInputs(size_t m, size_t n, size_t k);
};

// Sets the OpenMP and BLAS thread counts (0 = all cores); returns the count.
int use_threads(int threads);

// Best-of-repetitions GFLOP/s (2 M N K per product). Time every product before the sgemm:
// OpenBLAS's idle threads spin (sched_yield) for a while after each call and would take the
// cores from the OpenMP threads of a product timed right after it.
double time_matmul_gflops(const AccumulateSpec& spec, const MatmulInputs& in, int repetitions);
double time_sgemm_gflops(const MatmulInputs& in, int repetitions);

}  // namespace swalp::bench
