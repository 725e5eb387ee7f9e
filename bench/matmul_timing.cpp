#include "matmul_timing.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>

#include <cstdio>
#include <vector>

#include "swalp/rng.h"
#include "timing.h"

namespace swalp::bench {

namespace {

// OpenBLAS's thread count, where the BLAS is OpenBLAS (looked up at run time: the reference
// BLAS has no such call).
void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(threads);
}

}  // namespace

std::string blas_name() {
  using Config = char* (*)();
  if (auto* config = reinterpret_cast<Config>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    return config();  // "OpenBLAS 0.3.21 ..."
  return "reference BLAS";
}

std::string MatmulTiming::json() const {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer,
                "{\"accumulate\": \"%s\", \"shape\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, "
                "\"threads\": %d, \"gflops\": %.4f, \"sgemm_gflops\": %.4f, \"ratio\": %.5f, "
                "\"blas\": \"%s\"}",
                accumulate.c_str(), shape.c_str(), m, n, k, threads, gflops, sgemm_gflops, ratio(),
                blas.c_str());
  return buffer;
}

MatmulInputs::MatmulInputs(size_t m_, size_t n_, size_t k_) : m(m_), n(n_), k(k_) {
  a.resize(m * k);
  b.resize(k * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(philox_normal(1, 0, 2 * i));
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(philox_normal(1, 1, 2 * i));
}

int use_threads(int threads) {
  const int used = threads > 0 ? threads : omp_get_num_procs();
  omp_set_num_threads(used);
  set_blas_threads(used);
  return used;
}

double time_matmul_gflops(const AccumulateSpec& spec, const MatmulInputs& in, int repetitions) {
  std::vector<float> c(in.m * in.n);
  const double seconds = best_seconds(
      repetitions, [&] { matmul(spec, in.a.data(), in.b.data(), c.data(), in.m, in.n, in.k); });
  return 2.0 * double(in.m) * double(in.n) * double(in.k) / seconds / 1e9;
}

double time_sgemm_gflops(const MatmulInputs& in, int repetitions) {
  std::vector<float> c(in.m * in.n);
  const double seconds = best_seconds(repetitions, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(in.m), int(in.n), int(in.k), 1.0f,
                in.a.data(), int(in.k), in.b.data(), int(in.n), 0.0f, c.data(), int(in.n));
  });
  return 2.0 * double(in.m) * double(in.n) * double(in.k) / seconds / 1e9;
}

}  // namespace swalp::bench
