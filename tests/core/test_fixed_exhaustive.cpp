// Fixed point of up to 16 bits: every representable value, every midpoint and its neighbours.
#include <random>

#include "test_util.h"

namespace swalp {
namespace {

TEST(FixedPoint, FastMatchesReferenceOnAllCodesAndMidpoints) {
  for (int wl : {2, 3, 4, 8, 12, 16}) {
    for (int fl : {0, wl / 2, wl - 1, wl + 3, -2}) {
      const std::string spelling = "fixed:" + std::to_string(wl) + ":" + std::to_string(fl);
      const double step = std::ldexp(1.0, -fl);
      std::vector<float> inputs;
      const long lo = -(1L << (wl - 1)), hi = (1L << (wl - 1)) - 1;
      for (long k = lo - 2; k <= hi + 2; ++k) {
        const float value = static_cast<float>(k * step),
                    mid = static_cast<float>((k + 0.5) * step);
        for (float v : {value, mid, std::nextafter(mid, -INFINITY), std::nextafter(mid, INFINITY)})
          inputs.push_back(v);
      }
      std::mt19937 gen(wl * 100 + fl);
      for (int i = 0; i < 20000; ++i) inputs.push_back(test::float_of(gen()));
      for (Rounding r : all_roundings())
        test::expect_matches_reference(make_quant_spec(spelling, rounding_name(r), 11), inputs);

      // Every representable value is kept; values past the range saturate.
      std::vector<float> codes;
      for (long k = lo; k <= hi; ++k) codes.push_back(static_cast<float>(k * step));
      std::vector<float> out(codes.size());
      quantize(make_quant_spec(spelling), codes.data(), out.data(), codes.size());
      EXPECT_EQ(test::first_mismatch(codes, out), -1) << spelling;
      const float beyond[2] = {static_cast<float>((hi + 10) * step),
                               static_cast<float>((lo - 10) * step)};
      float clamped[2];
      quantize(make_quant_spec(spelling), beyond, clamped, 2);
      EXPECT_EQ(clamped[0], static_cast<float>(hi * step)) << spelling;
      EXPECT_EQ(clamped[1], static_cast<float>(lo * step)) << spelling;
    }
  }
}

TEST(FixedPoint, WideWordsClampToTheLargestFloatInRange) {
  const float big[2] = {1e20f, -1e20f};
  float out[2];
  quantize(make_quant_spec("fixed:32:0"), big, out, 2);
  EXPECT_EQ(out[0], std::nextafter(2147483648.0f, 0.0f));
  EXPECT_EQ(out[1], -2147483648.0f);
}

}  // namespace
}  // namespace swalp
