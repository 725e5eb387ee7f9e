#include "matmul_timing.h"

#include <dlfcn.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "swalp/error.h"
#include "swalp/rng.h"
#include "timing.h"

namespace swalp::bench {

namespace {

// The BLAS, opened when a benchmark needs it: linking it would load OpenBLAS and start its
// thread pool in every swalp process, the pipe command's included. The CBLAS entry points by
// their standard signatures and constants (cblas.h: CblasRowMajor 101, CblasNoTrans 111).
using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float* a, int lda, const float* b, int ldb, float beta, float* c,
                       int ldc);
constexpr int kRowMajor = 101, kNoTrans = 111;

struct Blas {
  Sgemm sgemm = nullptr;
  void (*set_threads)(int) = nullptr;  // OpenBLAS only
  char* (*config)() = nullptr;         // OpenBLAS only
};

const Blas& blas() {
  // SWALP_BLAS names the library to open (another BLAS: BLIS, MKL); by default OpenBLAS, then
  // Debian's alternative libblas.so.3 (OpenBLAS or the reference BLAS).
  static std::string tried;
  static const Blas loaded = [] {
    Blas b;
    const char* chosen = std::getenv("SWALP_BLAS");
    std::vector<std::string> names = {"libopenblas.so.0", "libblas.so.3", "libcblas.so.3"};
    if (chosen && *chosen) names = {chosen};
    for (const std::string& name : names) {
      tried += (tried.empty() ? "" : ", ") + name;
      void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) continue;
      b.sgemm = reinterpret_cast<Sgemm>(dlsym(handle, "cblas_sgemm"));
      if (!b.sgemm) continue;
      b.set_threads = reinterpret_cast<void (*)(int)>(dlsym(handle, "openblas_set_num_threads"));
      b.config = reinterpret_cast<char* (*)()>(dlsym(handle, "openblas_get_config"));
      break;
    }
    return b;
  }();
  if (!loaded.sgemm)
    throw RuntimeFailure("no BLAS with cblas_sgemm found (tried " + tried +
                         "); install Debian's libopenblas0-pthread or name one in SWALP_BLAS");
  return loaded;
}

}  // namespace

std::string blas_name() {
  const Blas& b = blas();
  return b.config ? b.config() : "a BLAS without OpenBLAS's configuration call";
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
  if (blas().set_threads) blas().set_threads(used);
  return used;
}

double time_matmul_gflops(const AccumulateSpec& spec, const MatmulInputs& in, int repetitions) {
  std::vector<float> c(in.m * in.n);
  const auto product = [&] { matmul(spec, in.a.data(), in.b.data(), c.data(), in.m, in.n, in.k); };
  product();  // untimed: the first product of a run woke the threads and was up to 3x slower
  const double seconds = best_seconds(repetitions, product);
  return 2.0 * double(in.m) * double(in.n) * double(in.k) / seconds / 1e9;
}

double time_sgemm_gflops(const MatmulInputs& in, int repetitions) {
  std::vector<float> c(in.m * in.n);
  const double seconds = best_seconds(repetitions, [&] {
    blas().sgemm(kRowMajor, kNoTrans, kNoTrans, int(in.m), int(in.n), int(in.k), 1.0f, in.a.data(),
                 int(in.k), in.b.data(), int(in.n), 0.0f, c.data(), int(in.n));
  });
  return 2.0 * double(in.m) * double(in.n) * double(in.k) / seconds / 1e9;
}

}  // namespace swalp::bench
