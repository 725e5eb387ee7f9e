#include "quantize_timing_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "quantize_cuda.h"
#include "swalp/error.h"

namespace swalp::bench {

namespace {

// A device buffer freed on every path out.
struct DeviceFloats {
  float* data = nullptr;
  explicit DeviceFloats(size_t n) {
    cuda::check(cudaMalloc(&data, n * sizeof(float)), "cudaMalloc");
  }
  ~DeviceFloats() { cudaFree(data); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
};

// Seconds of fn's work on the default stream, by events around it.
template <class Fn>
double event_seconds(const Fn& fn) {
  cudaEvent_t start, stop;
  cuda::check(cudaEventCreate(&start), "cudaEventCreate");
  cuda::check(cudaEventCreate(&stop), "cudaEventCreate");
  cuda::check(cudaEventRecord(start), "cudaEventRecord");
  fn();
  cuda::check(cudaEventRecord(stop), "cudaEventRecord");
  cuda::check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  cuda::check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms * 1e-3;
}

}  // namespace

QuantizeTiming time_quantize_cuda(const QuantSpec& spec, size_t n, int repetitions) {
  if (!cuda::available())
    throw RuntimeFailure(
        "--device cuda: no usable CUDA device (no driver or no GPU); use --device cpu");
  std::vector<float> host(n), expected(n), got(n);
  fill_bench_input(host.data(), n);
  const std::vector<int64_t> shape = bench_shape(n);
  DeviceFloats in(n), out(n);
  cuda::check(cudaMemcpy(in.data, host.data(), n * sizeof(float), cudaMemcpyHostToDevice),
              "cudaMemcpy");

  // The bits first: a fast wrong kernel has no throughput worth reporting.
  quantize(spec, host.data(), expected.data(), n, shape);
  cuda::quantize(spec, in.data, out.data, n, shape);
  cuda::check(cudaMemcpy(got.data(), out.data, n * sizeof(float), cudaMemcpyDeviceToHost),
              "cudaMemcpy");
  if (std::memcmp(got.data(), expected.data(), n * sizeof(float)) != 0) {
    size_t i = 0;
    while (std::memcmp(&got[i], &expected[i], sizeof(float)) == 0) ++i;
    throw RuntimeFailure("the GPU's " + spec.format.spelling +
                         " output differs from the CPU's at element " + std::to_string(i) + ": " +
                         std::to_string(got[i]) + " against " + std::to_string(expected[i]));
  }

  double copy_s = 1e30, quantize_s = 1e30;
  for (int r = 0; r < repetitions; ++r) {
    copy_s = std::min(copy_s, event_seconds([&] {
                        cuda::check(cudaMemcpyAsync(out.data, in.data, n * sizeof(float),
                                                    cudaMemcpyDeviceToDevice),
                                    "cudaMemcpyAsync");
                      }));
    quantize_s = std::min(
        quantize_s, event_seconds([&] { cuda::quantize(spec, in.data, out.data, n, shape); }));
  }
  QuantizeTiming t;
  t.format = spec.format.spelling;
  t.rounding = rounding_spelling({spec.rounding, spec.stochastic_bits});
  t.device = "cuda";
  t.threads = 0;
  t.n = n;
  t.copy_gelem_s = double(n) / copy_s * 1e-9;
  t.gelem_s = double(n) / quantize_s * 1e-9;
  return t;
}

}  // namespace swalp::bench
