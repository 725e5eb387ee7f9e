// Elementwise outputs of kStreamBytes or more are written with non-temporal stores after a
// padded head up to the vector alignment: the bits must equal the oracle's whatever the
// output's alignment, in place too, on every SIMD target.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "cpu/kernel_params.h"
#include "test_util.h"

namespace swalp {
namespace {

TEST(StreamedOutputs, LargeOutputsEqualTheOracleAtAnyAlignment) {
  const size_t n = detail::kStreamBytes / sizeof(float) + 37;  // past the threshold, odd tail
  std::vector<float> in(n);
  std::mt19937 gen(4);
  std::normal_distribution<float> normal;
  for (auto& v : in) v = normal(gen);
  std::vector<float> oracle(n), storage(n + 16);
  const struct {
    const char* format;
    const char* rounding;
  } cases[] = {{"fp16", "stochastic:8"}, {"bf16", "nearest"}, {"fixed:8:4", "stochastic"}};
  for (const auto& c : cases) {
    const QuantSpec spec = make_quant_spec(c.format, c.rounding, 11, 2);
    quantize_reference(spec, in.data(), oracle.data(), n);
    test::for_each_simd_target([&] {
      for (size_t shift : {size_t(0), size_t(1), size_t(5)}) {  // output misaligned by floats
        float* out = storage.data() + shift;
        quantize(spec, in.data(), out, n);
        size_t bad = n;
        for (size_t i = 0; i < n && bad == n; ++i)
          if (test::bits_of(out[i]) != test::bits_of(oracle[i])) bad = i;
        EXPECT_EQ(bad, n) << c.format << " " << c.rounding << " shift " << shift;
      }
      // In place: each vector is read before its streamed store overwrites it.
      std::vector<float> inplace(in);
      quantize(spec, inplace.data(), inplace.data(), n);
      EXPECT_EQ(test::first_mismatch(inplace, oracle), -1) << c.format << " in place";
    });
  }
}

}  // namespace
}  // namespace swalp
