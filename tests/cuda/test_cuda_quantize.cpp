// GPU against CPU, bit for bit: every format family and rounding mode (stochastic with the same
// seed, stream and index offset), 1-D and 2-D shapes, special values, in place and not. Skipped
// with a message where no CUDA device is usable.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quantize_cuda.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp {
namespace {

struct DeviceArray {
  explicit DeviceArray(const std::vector<float>& host) : n(host.size()) {
    EXPECT_EQ(cudaMalloc(&ptr, n * sizeof(float)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(ptr, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceArray() { cudaFree(ptr); }
  std::vector<float> to_host() const {
    std::vector<float> host(n);
    EXPECT_EQ(cudaMemcpy(host.data(), ptr, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  float* ptr = nullptr;
  size_t n;
};

std::vector<float> test_values(size_t n) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = normal(rng) * std::ldexp(1.0f, int(rng() % 40) - 20);
  const float specials[] = {0.0f, -0.0f, 1e-45f, -1.17549435e-38f, 65504.0f, 448.0f, 1e30f};
  for (size_t k = 0; k < sizeof specials / sizeof *specials; ++k) v[k * 97 % n] = specials[k];
  return v;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, 4) == 0 || (std::isnan(a) && std::isnan(b));
}

TEST(CudaQuantize, EqualsTheCpuBitForBit) {
  if (!cuda::available()) GTEST_SKIP() << "no CUDA device here: the GPU tests need one";
  const size_t rows = 96, cols = 129;
  const std::vector<float> values = test_values(rows * cols);
  for (const char* format : {"bf16",
                             "fp16",
                             "tf32",
                             "fp8e4m3",
                             "fp8e5m2",
                             "fp6e3m2",
                             "fp6e2m3",
                             "fp4e2m1",
                             "float:4:3:sat",
                             "fixed:8:6",
                             "fixed:16:-3",
                             "bfp:8",
                             "bfp:8:row",
                             "bfp:6:col",
                             "bfp:8:block16",
                             "mx:fp8e4m3",
                             "mx:fp4e2m1:block16",
                             "mx:int8",
                             "int:8:row",
                             "dt8:col"})
    for (const char* rounding : {"nearest", "stochastic", "zero", "up", "down"})
      for (uint64_t offset : {uint64_t(0), uint64_t(3), (uint64_t(1) << 32) - 5}) {
        QuantSpec spec = make_quant_spec(format, rounding, 17, 4);
        spec.index_offset = offset;
        const std::vector<int64_t> shape = {int64_t(rows), int64_t(cols)};
        std::vector<float> cpu(values.size());
        quantize(spec, values.data(), cpu.data(), values.size(), shape);
        DeviceArray in(values), out(std::vector<float>(values.size()));
        cuda::quantize(spec, in.ptr, out.ptr, values.size(), shape);
        const std::vector<float> gpu = out.to_host();
        size_t differ = 0;
        for (size_t i = 0; i < values.size(); ++i)
          if (!same_bits(cpu[i], gpu[i]) && differ++ < 3)
            ADD_FAILURE() << format << " " << rounding << " offset " << offset << " element " << i
                          << ": cpu " << cpu[i] << " gpu " << gpu[i];
        cuda::quantize(spec, in.ptr, in.ptr, values.size(), shape);  // in place
        const std::vector<float> in_place = in.to_host();
        for (size_t i = 0; i < values.size(); ++i)
          if (!same_bits(cpu[i], in_place[i]) && differ++ < 3)
            ADD_FAILURE() << format << " " << rounding << " in place, element " << i;
      }
}

TEST(CudaQuantize, SpecialValuesAndErrorsAsOnTheCpu) {
  if (!cuda::available()) GTEST_SKIP() << "no CUDA device here: the GPU tests need one";
  const std::vector<float> values = {1.0f, NAN, INFINITY, -INFINITY, -2.0f, 0.5f, 0.0f, 3.0f};
  for (const char* format : {"fp16", "fp8e4m3", "mx:fp8e4m3:block4", "fixed:8:4"}) {
    const QuantSpec spec = make_quant_spec(format);
    std::vector<float> cpu(values.size());
    quantize(spec, values.data(), cpu.data(), values.size());
    DeviceArray in(values), out(std::vector<float>(values.size()));
    cuda::quantize(spec, in.ptr, out.ptr, values.size());
    const std::vector<float> gpu = out.to_host();
    for (size_t i = 0; i < values.size(); ++i) EXPECT_TRUE(same_bits(cpu[i], gpu[i])) << format;
  }
  DeviceArray in(values), out(std::vector<float>(values.size()));
  EXPECT_THROW(cuda::quantize(make_quant_spec("bfp:8"), in.ptr, out.ptr, values.size()),
               InvalidInput);
  EXPECT_THROW(cuda::quantize(make_quant_spec("bfp:8:row"), in.ptr, out.ptr, values.size()),
               InvalidInput);  // a row scope needs 2-D
}

}  // namespace
}  // namespace swalp
