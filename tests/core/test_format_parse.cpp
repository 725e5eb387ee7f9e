#include <gtest/gtest.h>

#include <cmath>

#include "swalp/error.h"
#include "swalp/format.h"
#include "swalp/quantize.h"
#include "swalp/rounding.h"

namespace swalp {

TEST(FormatParse, NamedFormatsHaveTheirPublishedRanges) {
  EXPECT_EQ(parse_format("fp8e5m2").element.max_finite(), 57344.0);
  EXPECT_EQ(parse_format("fp8e4m3").element.max_finite(), 448.0);
  EXPECT_EQ(parse_format("fp6e3m2").element.max_finite(), 28.0);
  EXPECT_EQ(parse_format("fp6e2m3").element.max_finite(), 7.5);
  EXPECT_EQ(parse_format("fp4e2m1").element.max_finite(), 6.0);
  EXPECT_EQ(parse_format("fp16").element.max_finite(), 65504.0);
  EXPECT_EQ(parse_format("bf16").element.max_finite(), double(3.38953139e38f));
  EXPECT_EQ(parse_format("fp16").element.min_subnormal(), std::ldexp(1.0, -24));
  EXPECT_EQ(parse_format("fp8e4m3").element.min_subnormal(), std::ldexp(1.0, -9));
  EXPECT_EQ(parse_format("fp4e2m1").element.min_subnormal(), 0.5);
  EXPECT_TRUE(parse_format("fp8e4m3").element.saturate);
  EXPECT_FALSE(parse_format("fp8e5m2").element.saturate);
}

TEST(FormatParse, AliasesEqualTheirDefinitions) {
  const auto same = [](const char* a, const char* b) {
    const Format fa = parse_format(a), fb = parse_format(b);
    EXPECT_EQ(fa.element.exp_bits, fb.element.exp_bits) << a;
    EXPECT_EQ(fa.element.man_bits, fb.element.man_bits) << a;
    EXPECT_EQ(fa.element.specials, fb.element.specials) << a;
  };
  same("bf16", "float:8:7");
  same("fp16", "float:5:10");
  same("tf32", "float:8:10");
  same("fp8e5m2", "float:5:2");
}

TEST(FormatParse, TorchAndMlDtypesNamesAreTheSameFormats) {
  const std::pair<const char*, const char*> names[] = {
      {"float32", "fp32"},          {"bfloat16", "bf16"},        {"float16", "fp16"},
      {"float8_e4m3fn", "fp8e4m3"}, {"float8_e5m2", "fp8e5m2"},  {"float6_e3m2fn", "fp6e3m2"},
      {"float6_e2m3fn", "fp6e2m3"}, {"Float4_E2M1FN", "fp4e2m1"}};
  for (const auto& [alias, name] : names) EXPECT_EQ(parse_format(alias).spelling, name) << alias;
  EXPECT_NE(accepted_format_spellings().find("float8_e4m3fn"), std::string::npos);
}

TEST(FormatParse, SpellingsAreCaseInsensitiveAndCanonical) {
  EXPECT_EQ(parse_format("FP8E4M3").spelling, "fp8e4m3");
  EXPECT_EQ(parse_format("Float:5:2:SAT").spelling, "float:5:2:sat");
  EXPECT_EQ(parse_format("bfp:8").spelling, "bfp:8:tensor");
  EXPECT_EQ(parse_format("bfp:8:block16").scope.block, 16);
  EXPECT_EQ(parse_format("mx:fp4e2m1").scope.block, 32);
  EXPECT_EQ(parse_format("mx:int8:block64").spelling, "mx:int8:block64");
  EXPECT_EQ(parse_format("int:4:row").scope.kind, ScopeKind::kRow);
  EXPECT_EQ(parse_format("dt8:col").scope.kind, ScopeKind::kCol);
  EXPECT_EQ(parse_format("fixed:8:-2").frac_bits, -2);
  for (const auto& row : format_table()) EXPECT_EQ(parse_format(row.name).spelling, row.name);
}

TEST(FormatParse, BadSpellingsNameTheProblemAndTheAcceptedValues) {
  const auto message = [](const char* spelling) {
    try {
      parse_format(spelling);
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("fp7").find("unknown format name 'fp7'"), std::string::npos);
  EXPECT_NE(message("fp7").find("accepted: fp32, bf16"), std::string::npos);
  EXPECT_NE(message("float:9:3").find("E = 9 is out of range 1..8"), std::string::npos);
  EXPECT_NE(message("float:5:24").find("M = 24 is out of range 0..23"), std::string::npos);
  EXPECT_NE(message("float:5:x").find("'x' is not a decimal integer"), std::string::npos);
  EXPECT_NE(message("float:5:2:wrap").find("must be 'sat'"), std::string::npos);
  EXPECT_NE(message("fixed:1:0").find("WL = 1 is out of range 2..32"), std::string::npos);
  EXPECT_NE(message("fixed:8").find("expected fixed:WL:FL"), std::string::npos);
  EXPECT_NE(message("bfp:8:diag").find("scope 'diag'"), std::string::npos);
  EXPECT_NE(message("bfp:8:block0").find("block size = 0"), std::string::npos);
  EXPECT_NE(message("mx:fp16").find("MX element 'fp16'"), std::string::npos);
  EXPECT_NE(message("mx:fp8e4m3:row").find("blockN"), std::string::npos);
  EXPECT_NE(message("int:1").find("B = 1 is out of range 2..24"), std::string::npos);
  EXPECT_NE(message("").find("empty spelling"), std::string::npos);
  EXPECT_NE(message("fp32:1").find("unknown format"), std::string::npos);
  EXPECT_THROW(parse_rounding("nearest-even"), InvalidInput);
  try {
    parse_rounding("banker");
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("nearest, stochastic, zero, up, down"), std::string::npos);
  }
}

TEST(FormatParse, RoundingNamesRoundTrip) {
  for (Rounding r : all_roundings()) EXPECT_EQ(parse_rounding(rounding_name(r)), r);
  EXPECT_EQ(parse_rounding("STOCHASTIC"), Rounding::kStochastic);
  for (const char* spelling : {"nearest", "stochastic", "stochastic:1", "stochastic:16", "down"})
    EXPECT_EQ(rounding_spelling(parse_rounding_spelling(spelling)), spelling);
  EXPECT_EQ(rounding_spelling(parse_rounding_spelling("Stochastic:24")), "stochastic");
}

TEST(FormatParse, ShapesMustAgreeWithDataAndScope) {
  const std::vector<float> data(12, 1.0f);
  std::vector<float> out(12);
  EXPECT_THROW(quantize(make_quant_spec("fp16"), data.data(), out.data(), 12, {5, 2}),
               InvalidInput);
  EXPECT_THROW(quantize(make_quant_spec("bfp:8:row"), data.data(), out.data(), 12), InvalidInput);
  EXPECT_THROW(quantize(make_quant_spec("bfp:8:col"), data.data(), out.data(), 12, {12}),
               InvalidInput);
  EXPECT_THROW(quantize(make_quant_spec("fp16"), data.data(), out.data(), 12, {-3, -4}),
               InvalidInput);
  EXPECT_NO_THROW(quantize(make_quant_spec("bfp:8:row"), data.data(), out.data(), 12, {3, 2, 2}));
}

}  // namespace swalp
