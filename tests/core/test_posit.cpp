// Posits against an independent reference written here from the 2022 Posit Standard: every code
// decoded on its own, and round-to-nearest as the comparison with the (N+1)-bit code between
// two neighbours (the encoding's midpoint), ties to the even code. The fast kernels and the
// library's oracle must both agree with it, exhaustively where the input space allows.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "swalp/error.h"
#include "swalp/format.h"
#include "test_util.h"

namespace swalp {
namespace {

// Value of the n-bit posit code `code` (0 < code < 2^(n-1)), positive, from its bits.
double decode_posit(uint64_t code, int n, int es) {
  int i = n - 2;  // bit index below the sign
  const bool first = (code >> i) & 1;
  int run = 0;
  while (i >= 0 && (((code >> i) & 1) != 0) == first) ++run, --i;
  --i;  // the regime's terminating bit (if any)
  const int k = first ? run - 1 : -run;
  int exponent = 0, exponent_bits = 0;
  for (; exponent_bits < es; ++exponent_bits) {
    exponent <<= 1;
    if (i >= 0) exponent |= (code >> i) & 1, --i;  // exponent bits cut off read as 0
  }
  double fraction = 1.0, weight = 0.5;
  for (; i >= 0; --i, weight /= 2)
    if ((code >> i) & 1) fraction += weight;
  return std::ldexp(fraction, k * (1 << es) + exponent);
}

struct PositTable {
  int n, es;
  std::vector<double> values;     // values[c] of code c, c = 0 .. 2^(n-1) - 1 (values[0] = 0)
  std::vector<double> midpoints;  // midpoints[c]: the (n+1)-bit code 2c+1, between c and c+1
};

PositTable make_table(int n, int es) {
  PositTable t{n, es, {0.0}, {}};
  const uint64_t codes = uint64_t(1) << (n - 1);
  for (uint64_t c = 1; c < codes; ++c) t.values.push_back(decode_posit(c, n, es));
  for (uint64_t c = 0; c + 1 < codes; ++c)
    t.midpoints.push_back(c == 0 ? 0.0 : decode_posit(2 * c + 1, n + 1, es));
  return t;
}

// Round to nearest by the table: never to zero (below minpos gives minpos) nor past maxpos.
double nearest_by_table(const PositTable& t, double x) {
  if (std::isnan(x) || std::isinf(x)) return NAN;
  if (x == 0) return 0.0;
  const double a = std::fabs(x);
  const size_t top = t.values.size() - 1;
  double r;
  if (a >= t.values[top]) {
    r = t.values[top];
  } else if (a <= t.values[1]) {
    r = t.values[1];
  } else {
    const size_t c =
        size_t(std::upper_bound(t.values.begin(), t.values.end(), a) - t.values.begin()) -
        1;  // values[c] <= a < values[c+1]
    const double mid = t.midpoints[c];
    r = a < mid ? t.values[c] : a > mid ? t.values[c + 1] : t.values[c % 2 == 0 ? c : c + 1];
  }
  return std::copysign(r, x);
}

std::vector<float> table_inputs(const PositTable& t, uint32_t seed) {
  std::vector<float> in;
  auto add = [&](double v) {
    for (float s : {1.0f, -1.0f}) {
      const float f = s * float(v);
      in.insert(in.end(), {f, std::nextafter(f, 0.0f), std::nextafter(f, s * INFINITY)});
    }
  };
  for (double v : t.values) add(v);
  for (double v : t.midpoints) add(v);
  std::mt19937 gen(seed);
  for (int i = 0; i < (1 << 16); ++i) in.push_back(test::float_of(gen()));
  for (float v : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -3e38f}) in.push_back(v);
  return in;
}

void expect_nearest_matches_table(const std::string& spelling, const PositTable& t,
                                  const std::vector<float>& in) {
  std::vector<float> out(in.size());
  quantize(make_quant_spec(spelling, "nearest"), in.data(), out.data(), in.size());
  size_t bad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const float expected = float(nearest_by_table(t, in[i]));
    const bool same = (std::isnan(expected) && std::isnan(out[i])) ||
                      test::bits_of(expected) == test::bits_of(out[i]);
    if (!same && bad++ < 5)
      ADD_FAILURE() << spelling << ": x = " << in[i] << " gives " << out[i] << ", the table "
                    << expected;
  }
  EXPECT_EQ(bad, 0u) << spelling;
}

TEST(Posit, DecoderMatchesTheStandardsAnchors) {
  const PositTable p8 = make_table(8, 2);
  EXPECT_EQ(p8.values.back(), std::ldexp(1.0, 24));  // maxpos = useed^(n-2) = 16^6
  EXPECT_EQ(p8.values[1], std::ldexp(1.0, -24));
  EXPECT_EQ(p8.values[64], 1.0);              // 0x40
  EXPECT_EQ(p8.values[65], 1.125);            // 3 fraction bits at 1
  EXPECT_EQ(decode_posit(0x7F, 8, 0), 64.0);  // es 0: maxpos 2^6
}

TEST(Posit, EverySmallFormatAgreesWithTheTableOnAllCodesMidpointsAndRandomFloats) {
  for (auto [n, es] : std::vector<std::pair<int, int>>{{2, 0},
                                                       {3, 1},
                                                       {5, 0},
                                                       {6, 1},
                                                       {8, 0},
                                                       {8, 1},
                                                       {8, 2},
                                                       {8, 3},
                                                       {9, 4},
                                                       {10, 3},
                                                       {12, 2}}) {
    const std::string spelling = "posit:" + std::to_string(n) + ":" + std::to_string(es);
    const PositTable t = make_table(n, es);
    const auto in = table_inputs(t, 7 + n);
    test::for_each_simd_target([&] { expect_nearest_matches_table(spelling, t, in); });
    for (Rounding r : all_roundings())
      test::expect_matches_reference({parse_format(spelling), r, 5, 2}, in);
  }
}

TEST(Posit, Posit16AgreesOnEverySixteenBitFloatInput) {
  const PositTable t = make_table(16, 2);
  std::vector<float> in;
  for (uint32_t h = 0; h < (1u << 16); ++h) {
    in.push_back(test::float_of(h << 16));  // every bfloat16
    uint16_t half = uint16_t(h);
    _Float16 f16;
    std::memcpy(&f16, &half, sizeof half);
    in.push_back(float(f16));  // every binary16
  }
  const auto table_in = table_inputs(t, 16);
  in.insert(in.end(), table_in.begin(), table_in.end());
  test::for_each_simd_target([&] {
    expect_nearest_matches_table("posit16", t, in);
    for (Rounding r : all_roundings())
      test::expect_matches_reference({parse_format("posit16"), r, 9, 4}, in);
  });
}

TEST(Posit, Posit32FastMatchesTheOracleOnRandomFloats) {
  std::mt19937 gen(32);
  std::vector<float> in(1 << 20);
  for (auto& v : in) v = test::float_of(gen());
  for (Rounding r : all_roundings())
    test::expect_matches_reference({parse_format("posit32"), r, 1, 1}, in);
  // Near 1, posit32 keeps 27 fraction bits: every float32 there is exact.
  std::vector<float> near_one = {1.0f, 1.0000001f, 0.99999994f, 1.5f, 3.1415927f};
  std::vector<float> out(near_one.size());
  quantize(make_quant_spec("posit32"), near_one.data(), out.data(), near_one.size());
  EXPECT_EQ(test::first_mismatch(near_one, out), -1);
}

TEST(Posit, SpecialValuesAndRange) {
  auto q = [](const char* f, float x, const char* r = "nearest") {
    float y;
    quantize(make_quant_spec(f, r), &x, &y, 1);
    return y;
  };
  EXPECT_TRUE(std::isnan(q("posit8", NAN)));
  EXPECT_TRUE(std::isnan(q("posit8", INFINITY)));         // NaR
  EXPECT_EQ(test::bits_of(q("posit16", -0.0f)), 0u);      // one zero, no sign
  EXPECT_EQ(q("posit8", 1e30f), 16777216.0f);             // never NaR: maxpos
  EXPECT_EQ(q("posit8", 1e-30f), std::ldexp(1.0f, -24));  // never zero: minpos
  EXPECT_EQ(q("posit8", 1e-30f, "zero"), 0.0f);           // the directed modes may reach zero
  EXPECT_EQ(q("posit8", -1e-30f, "down"), -std::ldexp(1.0f, -24));
  EXPECT_EQ(q("posit8", 1.06f), 1.0f);
  EXPECT_EQ(q("posit8", 1.07f), 1.125f);
  EXPECT_EQ(parse_format("POSIT:16:2").spelling, "posit16");
  EXPECT_EQ(parse_format("posit:12:1").spelling, "posit:12:1");
  EXPECT_THROW(parse_format("posit:32:3"), InvalidInput);  // 2^240: beyond float32
  EXPECT_THROW(parse_format("posit:1:0"), InvalidInput);
  EXPECT_THROW(parse_format("posit:8:5"), InvalidInput);
  EXPECT_THROW(parse_format("posit8:2"), InvalidInput);
}

TEST(Posit, StochasticRoundingIsUnbiasedAcrossTruncatedExponents) {
  // posit8 near 2^20: the neighbours are 2^20 and 2^24 (exponent bits cut off), so the mean of
  // the two must still equal x.
  for (float x : {3.0e6f, -5.5e6f, 1.7f, 2.0e-7f, 1.0e-8f}) {
    std::vector<float> in(1 << 16, x), out(in.size());
    quantize(make_quant_spec("posit8", "stochastic", 11), in.data(), out.data(), in.size());
    double mean = 0;
    for (float y : out) mean += y;
    mean /= double(out.size());
    EXPECT_NEAR(mean / x, 1.0, 0.03) << x;
  }
}

}  // namespace
}  // namespace swalp
