// Signed zero, Inf, NaN and overflow per format and rounding mode (docs/formats.md).
#include <limits>

#include "test_util.h"

namespace swalp {
namespace {

float q(const char* format, float x, const char* rounding = "nearest") {
  float out;
  quantize(make_quant_spec(format, rounding), &x, &out, 1);
  return out;
}

TEST(SpecialValues, SignedZeroSurvivesEveryFormatThatHasIt) {
  for (const auto& row : format_table()) {
    const Format format = parse_format(row.name);
    const bool is_float = format.kind == FormatKind::kFloat;
    for (Rounding r : all_roundings()) {
      const std::string rounding(rounding_name(r));
      const float minus = q(row.name.c_str(), -0.0f, rounding.c_str());
      const float plus = q(row.name.c_str(), 0.0f, rounding.c_str());
      if (is_float && !format.element.has_sign()) {  // E8M0: no zero, no sign
        EXPECT_TRUE(std::isnan(minus) && std::isnan(plus)) << row.name;
        continue;
      }
      // FNUZ floats and posits have one zero, +0.
      const bool fnuz =
          (is_float && !format.element.has_negative_zero()) || format.kind == FormatKind::kPosit;
      EXPECT_EQ(test::bits_of(minus), fnuz ? 0u : 0x80000000u) << row.name;
      EXPECT_EQ(test::bits_of(plus), 0u) << row.name;
    }
  }
  EXPECT_EQ(test::bits_of(q("fp16", -1e-30f)), 0x80000000u);             // underflow keeps the sign
  EXPECT_EQ(test::bits_of(q("fp8e4m3fnuz", -1e-30f)), 0u);               // FNUZ: no -0
  EXPECT_EQ(test::bits_of(q("fp8e5m2fnuz", -1e-30f, "up")), 0u);         // toward +Inf: -0 -> +0
  EXPECT_EQ(q("fp8e4m3fnuz", -1e-30f, "down"), -std::ldexp(1.0f, -10));  // smallest subnormal
}

TEST(SpecialValues, NanStaysNanEverywhere) {
  for (const auto& row : format_table())
    for (Rounding r : all_roundings())
      EXPECT_TRUE(std::isnan(q(row.name.c_str(), NAN, std::string(rounding_name(r)).c_str())))
          << row.name;
}

TEST(SpecialValues, InfinityPerFormat) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(q("fp16", inf), inf);
  EXPECT_EQ(q("fp16", -inf, "zero"), -inf);  // Inf is representable: no rounding happens
  EXPECT_EQ(q("fp8e5m2", inf, "down"), inf);
  EXPECT_EQ(q("fp8e4m3", inf), 448.0f);
  EXPECT_EQ(q("fp8e4m3", -inf), -448.0f);
  EXPECT_EQ(q("fp6e3m2", inf), 28.0f);
  EXPECT_EQ(q("fp4e2m1", -inf), -6.0f);
  EXPECT_EQ(q("float:5:10:sat", inf), 65504.0f);
  EXPECT_EQ(q("fixed:8:4", inf), 127.0f / 16);
  EXPECT_EQ(q("fixed:8:4", -inf), -8.0f);
  // FNUZ saturates by default; `:nosat` and E8M0 have no Inf: Inf input is NaN.
  EXPECT_EQ(q("fp8e4m3fnuz", inf), 240.0f);
  EXPECT_EQ(q("fp8e5m2fnuz", -inf), -57344.0f);
  for (const char* nosat : {"fp8e4m3:nosat", "fp8e4m3fnuz:nosat", "fp8e5m2fnuz:nosat", "e8m0"})
    for (float x : {inf, -inf}) EXPECT_TRUE(std::isnan(q(nosat, x))) << nosat << " " << x;
  EXPECT_EQ(q("fp8e5m2:nosat", -inf), -inf);  // E5M2 has Inf: nosat is plain fp8e5m2
}

TEST(SpecialValues, NonSaturatingOverflowIsNanWithoutInfAndFollowsTheRoundingMode) {
  EXPECT_EQ(q("fp8e4m3:nosat", 464.0f), 448.0f);        // the tie at 448 + half ulp: to even
  EXPECT_TRUE(std::isnan(q("fp8e4m3:nosat", 465.0f)));  // rounds to 480, the NaN code
  EXPECT_TRUE(std::isnan(q("fp8e4m3:nosat", -1e6f)));
  EXPECT_EQ(q("fp8e4m3:nosat", 1e6f, "zero"), 448.0f);  // toward zero never overflows
  EXPECT_EQ(q("fp8e4m3:nosat", -1e6f, "up"), -448.0f);
  EXPECT_TRUE(std::isnan(q("fp8e4m3:nosat", 449.0f, "up")));
  EXPECT_TRUE(std::isnan(q("fp8e4m3fnuz:nosat", 248.0f)));  // max 240 + half ulp, tie to even
  EXPECT_EQ(q("fp8e4m3fnuz:nosat", 247.0f), 240.0f);
  EXPECT_TRUE(std::isnan(q("fp8e5m2fnuz:nosat", 61440.0f)));
  EXPECT_EQ(q("fp8e4m3fnuz", 1e6f), 240.0f);
}

TEST(SpecialValues, E8m0IsPowersOfTwoWithoutZeroOrSign) {
  EXPECT_EQ(q("e8m0", 1.0f), 1.0f);
  EXPECT_EQ(q("e8m0", 1.4f), 1.0f);
  EXPECT_EQ(q("e8m0", 1.5f), 2.0f);  // the tie: up, as ml_dtypes (the significand 2 is even)
  EXPECT_EQ(q("e8m0", 3.0f), 4.0f);
  EXPECT_EQ(q("e8m0", 3.0f, "down"), 2.0f);
  EXPECT_EQ(q("e8m0", 1e-45f), std::ldexp(1.0f, -127));  // no zero: raised to the smallest
  EXPECT_EQ(q("e8m0", std::ldexp(1.0f, -127)), std::ldexp(1.0f, -127));
  EXPECT_EQ(q("e8m0", std::ldexp(1.5f, -127)), std::ldexp(1.0f, -126));
  EXPECT_EQ(q("e8m0", std::ldexp(1.0f, 127)), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(q("e8m0", std::ldexp(1.5f, 127))));  // overflow: no Inf
  EXPECT_EQ(q("e8m0", std::ldexp(1.5f, 127), "zero"), std::ldexp(1.0f, 127));
  for (float x : {0.0f, -0.0f, -1.0f, -1e-45f}) EXPECT_TRUE(std::isnan(q("e8m0", x))) << x;
}

TEST(SpecialValues, OverflowFollowsIeeeForTheRoundingMode) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(q("fp16", 65519.0f), 65504.0f);  // below max + half ulp
  EXPECT_EQ(q("fp16", 65520.0f), inf);       // the tie rounds to even = 2^16 = overflow
  EXPECT_EQ(q("fp16", 70000.0f, "zero"), 65504.0f);
  EXPECT_EQ(q("fp16", 70000.0f, "up"), inf);
  EXPECT_EQ(q("fp16", 70000.0f, "down"), 65504.0f);
  EXPECT_EQ(q("fp16", -70000.0f, "up"), -65504.0f);
  EXPECT_EQ(q("fp16", -70000.0f, "down"), -inf);
  EXPECT_EQ(q("fp16", 65505.0f, "up"), inf);
  EXPECT_EQ(q("fp8e4m3", 470.0f), 448.0f);  // would be the NaN code: saturates
  EXPECT_EQ(q("fp8e4m3", 1e6f, "up"), 448.0f);
  EXPECT_EQ(q("fp8e5m2", 61440.0f), inf);  // max 57344 + half ulp, tie to even overflows
  EXPECT_EQ(q("fp8e5m2", 61439.0f), 57344.0f);
}

TEST(SpecialValues, SubnormalsAreGradual) {
  EXPECT_EQ(q("fp16", std::ldexp(1.0f, -24)), std::ldexp(1.0f, -24));
  EXPECT_EQ(q("fp16", std::ldexp(1.0f, -25)), 0.0f);  // tie to even: 0
  EXPECT_EQ(q("fp16", std::ldexp(1.5f, -25)), std::ldexp(1.0f, -24));
  EXPECT_EQ(q("fp16", std::ldexp(1.0f, -30), "up"), std::ldexp(1.0f, -24));
  EXPECT_EQ(q("fp8e4m3", 0.0025f), 0.001953125f);  // 1.28 * 2^-9: the smallest subnormal
  EXPECT_EQ(q("fp8e4m3", 0.003f), 0.00390625f);    // 1.536 * 2^-9 rounds to 2 * 2^-9
  EXPECT_EQ(q("bf16", std::ldexp(3.0f, -132)), std::ldexp(3.0f, -132));  // bf16 subnormal, exact
  EXPECT_EQ(q("bf16", std::ldexp(1.0f, -134) + std::ldexp(1.0f, -149)),
            std::ldexp(1.0f, -133));  // above half
}

}  // namespace
}  // namespace swalp
