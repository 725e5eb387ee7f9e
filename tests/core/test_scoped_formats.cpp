// Shared-scale formats (bfp, mx, int, dt8): every scope kind against the oracle, zero and NaN
// scopes, Inf handling, and the bfp/fixed relation.
#include <omp.h>

#include <algorithm>
#include <random>

#include "swalp/codes.h"
#include "swalp/error.h"
#include "test_util.h"

namespace swalp {
namespace {

// Rows of very different magnitudes, so per-scope scales differ; a few exact zeros.
std::vector<float> mixed_scale_data(size_t rows, size_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> exponent(-140, 120);
  std::vector<float> data(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const float scale = std::ldexp(1.0f, exponent(gen));
    for (size_t c = 0; c < cols; ++c) {
      const float v = normal(gen) * scale * (c % 3 == 0 ? std::ldexp(1.0f, -(int(c) % 40)) : 1.0f);
      data[r * cols + c] = (c % 17 == 5) ? 0.0f : v;
    }
  }
  return data;
}

const char* const kScopedFormats[] = {"bfp:8",
                                      "bfp:4:row",
                                      "bfp:6:col",
                                      "bfp:8:block16",
                                      "bfp:3:block5",
                                      "bfp:32",
                                      "bfp:26:row",
                                      "bfp:2:block4",
                                      "mx:fp8e4m3",
                                      "mx:fp8e5m2:block7",
                                      "mx:fp6e3m2",
                                      "mx:fp6e2m3",
                                      "mx:fp4e2m1:block16",
                                      "mx:int8",
                                      "mx:int8:block5",
                                      "mx:fp8e4m3:scale=ceil",
                                      "mx:fp8e5m2:block7:scale=even",
                                      "mx:fp6e2m3:block8:scale=even",
                                      "mx:fp4e2m1:block16:scale=rceil",
                                      "mx:fp6e3m2:scale=rceil",
                                      "mx:int8:scale=rceil",
                                      "mx:int8:block5:scale=ceil",
                                      "nvfp4",
                                      "nvfp4:block7",
                                      "int:8",
                                      "int:4:row",
                                      "int:3:col",
                                      "int:8:block16",
                                      "int:24:block3",
                                      "dt8",
                                      "dt8:row",
                                      "dt8:col",
                                      "dt8:block32"};

TEST(ScopedFormats, FastMatchesReferenceForEveryScopeAndRounding) {
  const size_t rows = 37, cols = 45;
  auto data = mixed_scale_data(rows, cols, 2024);
  // One all-zero row and one row holding a NaN.
  for (size_t c = 0; c < cols; ++c) data[3 * cols + c] = (c % 2) ? -0.0f : 0.0f;
  data[7 * cols + 11] = NAN;
  test::for_each_simd_target([&] {
    // The list above, and every shared-scale row of the registry (so a new one is tested).
    std::vector<std::string> spellings(std::begin(kScopedFormats), std::end(kScopedFormats));
    for (const auto& row : format_table())
      if (parse_format(row.name).shares_scale()) spellings.push_back(row.name);
    for (const auto& spelling : spellings)
      for (Rounding r : all_roundings())
        test::expect_matches_reference(make_quant_spec(spelling, rounding_name(r), 3, 9), data,
                                       {int64_t(rows), int64_t(cols)});
  });
}

TEST(ScopedFormats, ThreeDimensionalShapesAndLongScopes) {
  // Row scope views [4, 3, 5] as 4 rows of 15; long scopes take the two-pass parallel path.
  const auto small = mixed_scale_data(4, 15, 5);
  const auto long_rows = mixed_scale_data(2, 40000, 6);
  for (const char* spelling : {"bfp:8:row", "int:8:col", "mx:fp8e4m3:block8", "dt8:row", "bfp:8"})
    for (Rounding r : {Rounding::kNearest, Rounding::kStochastic, Rounding::kUp}) {
      test::expect_matches_reference(make_quant_spec(spelling, rounding_name(r), 1), small,
                                     {4, 3, 5});
      test::expect_matches_reference(make_quant_spec(spelling, rounding_name(r), 1), long_rows,
                                     {2, 40000});
    }
}

TEST(ScopedFormats, Dt8NearestAtEveryBucketEdgeMagnitudeAndMidpoint) {
  // The nearest fast path rounds through one table word per 16-bit bucket of |x| / max: every
  // bucket's first and last float, every magnitude and every midpoint +-3 ulps, both signs, at
  // scale 1 and at a scale whose division rounds (3); every SIMD target, and the scalar path of
  // column scopes.
  std::vector<float> magnitudes;
  for (uint32_t key = 0; key <= 0x3f80; ++key)
    for (uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0xfffeu, 0xffffu}) {
      if ((key << 16 | low) <= 0x3f800000u) magnitudes.push_back(test::float_of(key << 16 | low));
    }
  const auto& table = dt8_magnitudes();
  for (size_t k = 0; k < table.size(); ++k) {
    std::vector<float> centres = {table[k]};
    if (k + 1 < table.size()) centres.push_back(float((double(table[k]) + table[k + 1]) / 2));
    for (float c : centres)
      for (int step = -3; step <= 3; ++step) {
        const float v = test::float_of(uint32_t(int64_t(test::bits_of(c)) + step));
        if (v >= 0 && v <= 1) magnitudes.push_back(v);
      }
  }
  for (float scale : {1.0f, 3.0f}) {
    std::vector<float> data = {scale};  // the maximum
    for (float v : magnitudes) {
      data.push_back(v * scale);
      data.push_back(-v * scale);
    }
    test::for_each_simd_target([&] {
      for (const char* spelling : {"dt8", "dt8:block64"})
        test::expect_matches_reference(make_quant_spec(spelling, "nearest"), data);
      test::expect_matches_reference(make_quant_spec("dt8:col", "nearest"), data,
                                     {1, int64_t(data.size())});
    });
  }
}

TEST(ScopedFormats, AllZeroScopesQuantizeToZeroAndNanScopesToNan) {
  for (const char* spelling : {"bfp:8:block4", "mx:fp4e2m1:block4", "int:4:block4", "dt8:block4"}) {
    const std::vector<float> in = {0.0f, -0.0f, 0.0f, 0.0f, 1.0f,  NAN,
                                   2.0f, 3.0f,  1.5f, 2.5f, -1.0f, 0.25f};
    std::vector<float> out(in.size());
    quantize(make_quant_spec(spelling), in.data(), out.data(), in.size());
    EXPECT_EQ(test::bits_of(out[0]), test::bits_of(0.0f)) << spelling;
    EXPECT_EQ(test::bits_of(out[1]), test::bits_of(-0.0f)) << spelling;
    for (int i = 4; i < 8; ++i) EXPECT_TRUE(std::isnan(out[i])) << spelling << " element " << i;
    for (int i = 8; i < 12; ++i) EXPECT_FALSE(std::isnan(out[i])) << spelling << " element " << i;
  }
}

TEST(ScopedFormats, InfIsAnErrorForBfpIntDt8AndMakesMxBlocksNan) {
  const std::vector<float> in = {1.0f, INFINITY, 2.0f, 3.0f, 1.0f, 2.0f, 0.5f, 0.25f};
  std::vector<float> out(in.size());
  for (const char* spelling : {"bfp:8", "bfp:8:block4", "int:8:col", "dt8", "dt8:block4"}) {
    try {
      quantize(make_quant_spec(spelling), in.data(), out.data(), in.size(), {2, 4});
      ADD_FAILURE() << spelling << " accepted Inf";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("cannot encode Inf"), std::string::npos);
    }
  }
  quantize(make_quant_spec("mx:fp8e4m3:block4"), in.data(), out.data(), in.size());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(std::isnan(out[i]));
  for (int i = 4; i < 8; ++i) EXPECT_EQ(out[i], in[i]);
}

TEST(ScopedFormats, BfpEqualsFixedWhenTheMaximumIsInHalfOpenUnitRange) {
  std::mt19937 gen(77);
  std::uniform_real_distribution<float> uniform(-0.999f, 0.999f);
  for (int wl : {4, 8, 12}) {
    std::vector<float> in(4096);
    for (auto& v : in) v = uniform(gen);
    in[0] = 0.75f;  // max |x| in [0.5, 1)
    for (Rounding r : all_roundings()) {
      std::vector<float> bfp(in.size()), fixed(in.size());
      quantize(make_quant_spec("bfp:" + std::to_string(wl), rounding_name(r), 8), in.data(),
               bfp.data(), in.size());
      quantize(make_quant_spec("fixed:" + std::to_string(wl) + ":" + std::to_string(wl - 1),
                               rounding_name(r), 8),
               in.data(), fixed.data(), in.size());
      // They differ only at -1, which fixed point can reach and bfp (symmetric) cannot.
      for (size_t i = 0; i < in.size(); ++i) {
        if (fixed[i] != -1.0f) {
          ASSERT_EQ(bfp[i], fixed[i]) << "wl " << wl << " x " << in[i];
        }
      }
    }
  }
}

TEST(ScopedFormats, BfpGridFollowsTheSharedExponent) {
  // max 6 -> E = 2; bfp:8 step 2^(2+2-8) = 1/16, clamp at 127/16.
  const std::vector<float> in = {6.0f, 0.03f, -1.0f / 32, 7.99f};
  std::vector<float> out(4);
  quantize(make_quant_spec("bfp:8"), in.data(), out.data(), 4);
  EXPECT_EQ(out[0], 6.0f);
  EXPECT_EQ(out[1],
            0.0625f * 0.0f + 0.0625f * 0.0f + 0.0f + 0.0625f * 0);  // 0.03 -> 0 (below half step)
  EXPECT_EQ(out[2], 0.0f);     // -1/32 is a tie between 0 and -1/16: even is 0
  EXPECT_EQ(out[3], 7.9375f);  // 127/16 saturation bound... 7.99 is 127.84 steps
}

TEST(ScopedFormats, MxScaleFollowsOcp) {
  // amax 20 -> floor(log2) 4; fp4e2m1 emax 2 -> X = 4; elements 20/4 = 5 -> fp4 4 or 6 (tie: even
  // 4)
  const std::vector<float> in = {20.0f, 1.0f, -3.0f, 0.1f};
  std::vector<float> out(4);
  quantize(make_quant_spec("mx:fp4e2m1:block4"), in.data(), out.data(), 4);
  EXPECT_EQ(out[0], 16.0f);
  EXPECT_EQ(out[1], 0.0f);   // 0.25 -> between 0 and 0.5 (tie -> 0)
  EXPECT_EQ(out[2], -4.0f);  // -0.75 -> -1 (nearest of 0.5, 1)
  EXPECT_EQ(out[3], 0.0f);
}

// docs/formats.md's worked example: 957 in an E4M3 block (max 448, emax 8).
TEST(ScopedFormats, MxScaleRulesOnTheWorkedExample) {
  auto block_max = [](const char* spelling, float amax, float other = 1.0f) {
    const std::vector<float> in = {amax, other, 0.0f, -1.0f};
    std::vector<float> out(4);
    quantize(make_quant_spec(spelling), in.data(), out.data(), 4);
    return std::make_pair(out[0], out[1]);
  };
  // floor: 2^(9-8) = 2; 957/2 = 478.5 saturates at 448: the block maximum clips to 896.
  EXPECT_EQ(block_max("mx:fp8e4m3:block4", 957).first, 896.0f);
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=floor", 957).first, 896.0f);
  // ceil: 2^(10-8) = 4; 239.25 -> 240 -> 960. rceil: 957/448 = 2.14 -> 4 as well.
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=ceil", 957).first, 960.0f);
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=rceil", 957).first, 960.0f);
  // even: 957 = 1.87 * 2^9 does not round (3 mantissa bits, half up) to 2^10: as floor.
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=even", 957).first, 896.0f);
  // 1000 = 1.95 * 2^9 does: scale 4, 250 -> 256 -> 1024; floor clips it to 896.
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=even", 1000).first, 1024.0f);
  EXPECT_EQ(block_max("mx:fp8e4m3:block4", 1000).first, 896.0f);
  // rceil against ceil: amax 300 fits E4M3 unscaled (300/448 < 1: scale 1), ceil scales by 2,
  // so a small neighbour 0.001 survives (as the subnormal 2^-9) under rceil only.
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=rceil", 300, 0.001f).second, 0.001953125f);
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=ceil", 300, 0.001f).second, 0.0f);
  // A power of two: ceil equals floor.
  EXPECT_EQ(block_max("mx:fp8e4m3:block4:scale=ceil", 512).first, 512.0f);
}

TEST(ScopedFormats, MxScaleRuleSpellings) {
  EXPECT_EQ(parse_format("MX:FP8E4M3:SCALE=RCEIL").spelling, "mx:fp8e4m3:block32:scale=rceil");
  EXPECT_EQ(parse_format("mx:fp4e2m1:block16:scale=floor").spelling, "mx:fp4e2m1:block16");
  EXPECT_EQ(with_scope(parse_format("mx:fp8e4m3:scale=even"), {ScopeKind::kBlock, 8}).spelling,
            "mx:fp8e4m3:block8:scale=even");
  EXPECT_FALSE(names_scope("mx:fp8e4m3:scale=ceil"));
  EXPECT_TRUE(names_scope("mx:fp8e4m3:block16:scale=ceil"));
  for (const char* bad : {"mx:fp8e4m3:scale=round", "mx:fp8e4m3:scale=", "mx:fp8e4m3:ceil",
                          "mx:fp8e4m3:scale=ceil:block16", "mx:fp8e4m3:block8:scale=ceil:x"}) {
    try {
      parse_format(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("floor"), std::string::npos) << e.what();
    }
  }
}

// NVFP4 composed from formats checked against ml_dtypes elsewhere: the tensor scale S = amax /
// 2688, per block E4M3(clamp(amax_b / 6 / S, 2^-6, 448)), elements fp4e2m1(x / (S e4m3)), all
// in float32 (torchao's _nvfp4_quantize).
TEST(ScopedFormats, Nvfp4IsTheTwoLevelCompositionOfE4m3AndFp4) {
  auto q1 = [](const char* format, float x) {
    float y;
    quantize(make_quant_spec(format), &x, &y, 1);
    return y;
  };
  std::mt19937 gen(16);
  std::normal_distribution<float> normal;
  std::vector<float> in(16 * 37);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = normal(gen) * std::ldexp(1.0f, int(i / 16 % 9) * 3 - 12);
  for (size_t i = 48; i < 64; ++i) in[i] = 0.0f;  // an all-zero block stays zero
  std::vector<float> out(in.size());
  quantize(make_quant_spec("nvfp4"), in.data(), out.data(), in.size());
  float amax = 0;
  for (float v : in) amax = std::max(amax, std::fabs(v));
  const float s = amax / 2688.0f;
  for (size_t b = 0; b < in.size() / 16; ++b) {
    float block_amax = 0;
    for (size_t i = b * 16; i < b * 16 + 16; ++i)
      block_amax = std::max(block_amax, std::fabs(in[i]));
    const float scaled = std::clamp(block_amax / 6.0f / s, 0.015625f, 448.0f);
    const float total = s * q1("fp8e4m3", scaled);
    for (size_t i = b * 16; i < b * 16 + 16; ++i) {
      const float expected = q1("fp4e2m1", in[i] / total) * total;
      ASSERT_EQ(test::bits_of(out[i]), test::bits_of(expected)) << "block " << b << " x " << in[i];
    }
  }
  // The largest block value comes back within an E4M3 rounding of itself (no clipping at 6).
  const float top = *std::max_element(out.begin(), out.end());
  EXPECT_NEAR(top / amax, 1.0, 0.07);
  EXPECT_EQ(parse_format("NVFP4").spelling, "nvfp4:block16");
  EXPECT_EQ(parse_format("nvfp4:block32").scope.block, 32);
  EXPECT_THROW(parse_format("nvfp4:row"), InvalidInput);
  // NaN anywhere makes the whole tensor NaN (its scale is NaN); Inf is refused.
  std::vector<float> with_nan(32, 1.0f);
  with_nan[31] = NAN;
  quantize(make_quant_spec("nvfp4"), with_nan.data(), with_nan.data(), with_nan.size());
  EXPECT_TRUE(std::isnan(with_nan[0]));
  std::vector<float> with_inf(32, 1.0f), sink(32);
  with_inf[3] = INFINITY;
  EXPECT_THROW(quantize(make_quant_spec("nvfp4"), with_inf.data(), sink.data(), 32), InvalidInput);
}

TEST(ScopedFormats, ResultsDoNotDependOnThreadCount) {
  const auto data = mixed_scale_data(64, 3000, 99);
  for (const char* spelling :
       {"bfp:8", "bfp:8:block32", "int:8:col", "mx:fp8e4m3", "dt8:row", "fp8e4m3", "fixed:8:4"}) {
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> out(data.size());
      quantize(make_quant_spec(spelling, "stochastic", 1234), data.data(), out.data(), data.size(),
               {64, 3000});
      results.push_back(out);
    }
    EXPECT_EQ(test::first_mismatch(results[0], results[1]), -1) << spelling;
    EXPECT_EQ(test::first_mismatch(results[0], results[2]), -1) << spelling;
  }
  omp_set_num_threads(omp_get_num_procs());
}

}  // namespace
}  // namespace swalp
