// Stochastic rounding: unbiased, rounds up with probability equal to the distance fraction,
// deterministic for a seed, and different across seeds and streams.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "swalp/error.h"
#include "swalp/rng.h"
#include "test_util.h"

namespace swalp {
namespace {

struct Case {
  const char* format;
  float x, lo, hi;  // x lies between the format's neighbours lo < hi
};

const Case kCases[] = {
    {"bf16", 1.0f + 0.3f / 128, 1.0f, 1.0f + 1.0f / 128},
    {"fp16", 1000.7f, 1000.5f, 1001.0f},
    {"fp8e4m3", -3.3f, -3.5f, -3.25f},
    {"fp8e5m2", 1e-6f, 0.0f, 1.52587890625e-05f},  // below the smallest subnormal 2^-16
    {"fp4e2m1", 4.5f, 4.0f, 6.0f},
    {"fixed:8:4", 0.0312f, 0.0f, 0.0625f},
    {"fixed:4:0", -2.9f, -3.0f, -2.0f},
    {"bfp:8", 0.101f, 0.1015625f - 0.0078125f, 0.1015625f},
};

TEST(Stochastic, UnbiasedAndRoundsUpWithTheDistanceFraction) {
  const size_t n = 400000;
  for (const Case& c : kCases) {
    // For bfp the scope maximum fixes the grid: keep one 0.9 in the tensor.
    std::vector<float> in(n, c.x), out(n);
    if (std::string(c.format) == "bfp:8") in[0] = 0.9f;
    quantize(make_quant_spec(c.format, "stochastic", 42), in.data(), out.data(), n);
    size_t ups = 0;
    double sum = 0;
    for (size_t i = 1; i < n; ++i) {
      ASSERT_TRUE(out[i] == c.lo || out[i] == c.hi) << c.format << " gave " << out[i];
      ups += out[i] == c.hi;
      sum += out[i];
    }
    const double trials = n - 1;
    const double p = (double(c.x) - c.lo) / (double(c.hi) - c.lo);
    const double sigma_count = std::sqrt(trials * p * (1 - p));
    EXPECT_NEAR(double(ups), trials * p, 5 * sigma_count + 1) << c.format;
    const double sigma_mean = (double(c.hi) - c.lo) * std::sqrt(p * (1 - p) / trials);
    EXPECT_NEAR(sum / trials, double(c.x), 5 * sigma_mean + 1e-12) << c.format;
  }
}

TEST(Stochastic, ChiSquareOverManyFractions) {
  // fixed:16:8: fractions k/16 of a step; the up-count of each fraction is binomial.
  const size_t per = 20000;
  double chi2 = 0;
  for (int k = 1; k < 16; ++k) {
    const float x = (3.0f + k / 16.0f) / 256.0f;
    std::vector<float> in(per, x), out(per);
    quantize(make_quant_spec("fixed:16:8", "stochastic", k), in.data(), out.data(), per);
    double ups = 0;
    for (float v : out) ups += v > x;
    const double p = k / 16.0, expected = per * p;
    chi2 += (ups - expected) * (ups - expected) / (per * p * (1 - p));
  }
  // 15 degrees of freedom: P(chi2 > 44) < 1e-4.
  EXPECT_LT(chi2, 44.0);
}

TEST(Stochastic, SlicesWithIndexOffsetEqualTheWholeArray) {
  std::mt19937 gen(8);
  std::normal_distribution<float> normal;
  std::vector<float> in(10000);
  for (auto& v : in) v = normal(gen);
  for (const char* spelling :
       {"fp8e4m3", "fixed:8:5", "bfp:8:block32", "dt8:block32", "int:4:block16"}) {
    for (bool reference : {false, true}) {
      const auto run = reference ? quantize_reference : quantize;
      QuantSpec spec = make_quant_spec(spelling, "stochastic", 77, 5);
      std::vector<float> whole(in.size()), sliced(in.size());
      run(spec, in.data(), whole.data(), in.size(), {});
      // Slice boundaries on multiples of 32, so block scopes stay whole.
      for (size_t begin : {size_t(0), size_t(3200), size_t(6400)}) {
        const size_t end = std::min(in.size(), begin + 3200 + (begin == 6400 ? 400 : 0));
        spec.index_offset = begin;
        run(spec, in.data() + begin, sliced.data() + begin, end - begin, {});
      }
      EXPECT_EQ(test::first_mismatch(whole, sliced), -1)
          << spelling << (reference ? " (reference)" : "");
    }
  }
}

TEST(Stochastic, DeterministicPerSeedAndStream) {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal;
  std::vector<float> in(10000);
  for (auto& v : in) v = normal(gen);
  auto run = [&](uint64_t seed, uint64_t stream) {
    std::vector<float> out(in.size());
    quantize(make_quant_spec("fp8e4m3", "stochastic", seed, stream), in.data(), out.data(),
             in.size());
    return out;
  };
  EXPECT_EQ(run(1, 0), run(1, 0));
  EXPECT_NE(run(1, 0), run(2, 0));
  EXPECT_NE(run(1, 0), run(1, 1));
}

// stochastic:R: R random bits per element with the low 24 - R of the compared 24 forced to ones.
// Fast kernels against the oracle for every family (dt8 and posits included), R across its range.
TEST(StochasticBits, FastMatchesReferenceForEveryFamilyAndR) {
  std::mt19937 gen(8);
  std::normal_distribution<float> normal;
  std::vector<float> in(4099);
  for (size_t i = 0; i < in.size(); ++i) in[i] = normal(gen) * std::ldexp(1.0f, int(i % 23) - 11);
  test::for_each_simd_target([&] {
    for (const char* format :
         {"bf16", "fp8e4m3", "e8m0", "fp8e4m3fnuz", "fixed:8:4", "bfp:8", "bfp:6:block16",
          "mx:fp4e2m1", "mx:int8:scale=rceil", "int:4", "dt8", "dt8:block64", "posit8", "posit16"})
      for (const char* rounding :
           {"stochastic:1", "stochastic:3", "stochastic:8", "stochastic:16", "stochastic:23"})
        test::expect_matches_reference(make_quant_spec(format, rounding, 4, 2), in,
                                       {int64_t(in.size())});
  });
}

TEST(StochasticBits, FastMatchesReferenceAtOddOffsetsAndAnyThreadCount) {
  std::mt19937 gen(9);
  std::normal_distribution<float> normal;
  std::vector<float> in(70001);
  for (auto& v : in) v = normal(gen);
  test::for_each_simd_target([&] {
    for (const char* format : {"bf16", "fp8e4m3", "bfp:8", "dt8"})
      for (const char* rounding : {"stochastic:5", "stochastic:8", "stochastic:9", "stochastic:16"})
        for (uint64_t offset : {uint64_t(1), uint64_t(6), uint64_t(15), (uint64_t(1) << 34) + 3}) {
          QuantSpec spec = make_quant_spec(format, rounding, 21, 4);
          spec.index_offset = offset;
          test::expect_matches_reference(spec, in);
        }
  });
  for (const char* rounding : {"stochastic:8", "stochastic:16"}) {
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> out(in.size());
      quantize(make_quant_spec("bf16", rounding, 3), in.data(), out.data(), in.size());
      results.push_back(out);
    }
    EXPECT_EQ(test::first_mismatch(results[0], results[1]), -1) << rounding;
    EXPECT_EQ(test::first_mismatch(results[0], results[2]), -1) << rounding;
  }
  omp_set_num_threads(omp_get_num_procs());
}

// For R <= 16 one Philox word serves 2 (R 9..16) or 4 (R <= 8) elements: element i's unit is the
// half or byte number i % per_word, from the low end, of word i / per_word. An exact midpoint
// rounds up iff the unit's top bit is 0 (u < 2^23 with the low bits forced to ones), so the
// results show each element's top random bit.
TEST(StochasticBits, FewBitsComeFromTheHalvesAndBytesOfPhiloxWords) {
  const uint64_t seed = 31, stream = 2, offset = 5;
  for (auto [format, midpoint, up_value] : std::vector<std::tuple<const char*, float, float>>{
           {"bf16", 1.0f + 0.5f / 128, 1.0f + 1.0f / 128}, {"fp8e4m3", 1.0625f, 1.125f}}) {
    for (auto [rounding, unit_bits] :
         std::vector<std::pair<const char*, int>>{{"stochastic:3", 8},
                                                  {"stochastic:8", 8},
                                                  {"stochastic:12", 16},
                                                  {"stochastic:16", 16},
                                                  {"stochastic:17", 32},
                                                  {"stochastic", 32}}) {
      const int per_word = 32 / unit_bits;
      const size_t n = 4099;
      std::vector<float> in(n, midpoint), out(n);
      for (bool reference : {false, true}) {
        QuantSpec spec = make_quant_spec(format, rounding, seed, stream);
        spec.index_offset = offset;
        (reference ? quantize_reference : quantize)(spec, in.data(), out.data(), n, {});
        size_t wrong = 0;
        for (size_t i = 0; i < n; ++i) {
          const uint64_t index = offset + i;
          const uint32_t word = philox_bits(seed, stream, index / per_word);
          const int top = int(unit_bits * (index % per_word) + unit_bits - 1);
          const bool up = ((word >> top) & 1) == 0;
          wrong += (out[i] == up_value) != up;
        }
        EXPECT_EQ(wrong, 0u) << format << " " << rounding << (reference ? " (reference)" : "");
      }
    }
  }
}

TEST(StochasticBits, TwentyFourBitsArePlainStochastic) {
  std::vector<float> in(10000);
  for (size_t i = 0; i < in.size(); ++i) in[i] = std::sin(float(i)) * 3;
  for (const char* format : {"bf16", "fp8e4m3", "dt8", "posit8", "mx:fp8e4m3"}) {
    std::vector<float> plain(in.size()), r24(in.size());
    quantize(make_quant_spec(format, "stochastic", 3), in.data(), plain.data(), in.size());
    quantize(make_quant_spec(format, "STOCHASTIC:24", 3), in.data(), r24.data(), in.size());
    EXPECT_EQ(test::first_mismatch(plain, r24), -1) << format;
  }
}

TEST(StochasticBits, RoundUpProbabilityIsTheRemaindersTopRBits) {
  // bf16 at 1 + p ulp: P(up) = floor(p 2^R) / 2^R. p = 0.3: R = 1 never rounds up, R = 2 one
  // time in four, R = 4 four in sixteen (0.25), plain stochastic 0.3.
  const float ulp = 1.0f / 128, x = 1.0f + 0.3f * ulp;
  const size_t n = 1 << 18;
  std::vector<float> in(n, x), out(n);
  for (auto [rounding, expected] :
       std::vector<std::pair<const char*, double>>{{"stochastic:1", 0.0},
                                                   {"stochastic:2", 0.25},
                                                   {"stochastic:4", 0.25},
                                                   {"stochastic:8", 76.0 / 256},
                                                   {"stochastic", 0.3}}) {
    quantize(make_quant_spec("bf16", rounding, 17), in.data(), out.data(), n);
    const double ups = double(std::count(out.begin(), out.end(), 1.0f + ulp)) / n;
    EXPECT_NEAR(ups, expected, 0.004) << rounding;
  }
}

TEST(StochasticBits, BadRValuesAreRefused) {
  for (const char* bad : {"stochastic:0", "stochastic:25", "stochastic:", "stochastic:x",
                          "stochastic:-3", "stochastic:8:1"}) {
    try {
      make_quant_spec("bf16", bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("stochastic:R"), std::string::npos) << e.what();
    }
  }
  QuantSpec spec = make_quant_spec("bf16", "stochastic");
  spec.stochastic_bits = 0;
  float x = 1, y;
  EXPECT_THROW(quantize(spec, &x, &y, 1), InvalidInput);
  EXPECT_THROW(quantize_reference(spec, &x, &y, 1), InvalidInput);
}

}  // namespace
}  // namespace swalp
