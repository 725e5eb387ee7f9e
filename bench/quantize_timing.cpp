#include "quantize_timing.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "swalp/error.h"
#include "timing.h"

namespace swalp::bench {

std::string QuantizeTiming::json() const {
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"format\": \"%s\", \"rounding\": \"%s\", \"device\": \"%s\", \"threads\": %d, "
                "\"n\": %zu, \"gelem_s\": %.4f, \"copy_gelem_s\": %.4f, \"ratio\": %.4f}",
                format.c_str(), rounding.c_str(), device.c_str(), threads, n, gelem_s, copy_gelem_s,
                ratio());
  return line;
}

void fill_bench_input(float* in, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) in[i] = float((i * 2654435761u) % 65536) / 32768.0f - 1.0f;
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  for (size_t i = 0; i < n; i += 61) in[i] = normal(gen);
}

std::vector<int64_t> bench_shape(size_t n) {
  return n % 1024 == 0 ? std::vector<int64_t>{int64_t(n / 1024), 1024}
                       : std::vector<int64_t>{1, int64_t(n)};
}

std::vector<std::string> bench_format_spellings() {
  std::vector<std::string> formats = named_format_spellings();
  for (const char* f : {"fixed:8:6",
                        "fixed:16:8",
                        "bfp:8",
                        "bfp:8:block32",
                        "bfp:8:row",
                        "bfp:8:col",
                        "mx:fp8e4m3",
                        "mx:fp4e2m1",
                        "mx:int8",
                        "mx:fp8e4m3:scale=ceil",
                        "mx:fp8e4m3:scale=even",
                        "mx:fp8e4m3:scale=rceil",
                        "int:8",
                        "int:8:block64",
                        "dt8",
                        "fp8e4m3:nosat",
                        "fp8e4m3fnuz:nosat",
                        "posit8",
                        "posit16",
                        "posit32",
                        "nvfp4"})
    formats.push_back(f);
  return formats;
}

QuantizeTiming time_quantize(const QuantSpec& spec, size_t n, int threads, int repetitions,
                             size_t naive_n) {
  if (threads <= 0) threads = omp_get_num_procs();
  omp_set_num_threads(threads);
  std::vector<float> in = allocate_values<float>(n, "the benchmark's input"),
                     out = allocate_values<float>(n, "the benchmark's output");
  // First touch in parallel, as the timed loops will use the pages.
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = 0;
  fill_bench_input(in.data(), n);

  QuantizeTiming t;
  t.format = spec.format.spelling;
  t.rounding = rounding_spelling({spec.rounding, spec.stochastic_bits});
  t.threads = threads;
  t.n = n;
  const double copy_s = best_seconds(repetitions, [&] {
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < n; c += 65536)
      std::copy(in.begin() + c, in.begin() + std::min(n, c + 65536), out.begin() + c);
  });
  const std::vector<int64_t> shape = bench_shape(n);
  const double quantize_s =
      best_seconds(repetitions, [&] { quantize(spec, in.data(), out.data(), n, shape); });
  t.copy_gelem_s = n / copy_s * 1e-9;
  t.gelem_s = n / quantize_s * 1e-9;
  if (naive_n > 0) {
    naive_n = std::min(naive_n, n);
    const double naive_s = best_seconds(1, [&] {
      quantize_reference(spec, in.data(), out.data(), naive_n, {1, int64_t(naive_n)});
    });
    t.naive_gelem_s = naive_n / naive_s * 1e-9;
  }
  return t;
}

}  // namespace swalp::bench
