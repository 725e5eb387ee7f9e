// The 8-bit message codecs: every code round-trips, fp8 codes are the OCP bit patterns,
// rounding is nearest or unbiased stochastic, scales per block, error statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "swalp/codec.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp {
namespace {

TEST(Codecs, EveryCodeRoundTrips) {
  for (const std::string& name : codec_names()) {
    const Codec& c = codec_by_name(name);
    ASSERT_EQ(c.magnitudes.front(), 0.0f) << name;
    ASSERT_EQ(c.magnitudes.back(), 1.0f) << name;
    ASSERT_TRUE(std::is_sorted(c.magnitudes.begin(), c.magnitudes.end())) << name;
    // A message holding 1 (the scale) and every code's value decodes to itself and re-encodes
    // to the same code.
    for (size_t k = 0; k < c.magnitudes.size(); ++k)
      for (float sign : {1.0f, -1.0f}) {
        const float values[2] = {1.0f, sign * c.magnitudes[k]};
        EncodedMessage m;
        encode(c, values, 2, {}, m);
        float back[2];
        decode(c, m, back);
        EXPECT_EQ(back[1], values[1]) << name << " " << k;
        EXPECT_EQ(m.codes[1] & 0x7f, c.codes[k]) << name << " " << k;
        if (k > 0) EXPECT_EQ(m.codes[1] >> 7, sign < 0 ? 1 : 0) << name << " " << k;
      }
    // Every one of the 256 code bytes decodes to a finite value of magnitude <= scale, and the
    // used ones to distinct magnitudes.
    EncodedMessage all;
    all.block = 256;
    all.scales = {2.0f};
    for (int code = 0; code < 256; ++code) all.codes.push_back(uint8_t(code));
    std::vector<float> decoded(256);
    decode(c, all, decoded.data());
    for (float v : decoded) EXPECT_TRUE(std::isfinite(v) && std::abs(v) <= 2.0f) << name;
  }
}

TEST(Codecs, Fp8CodesAreTheOcpBitPatterns) {
  // With scale = the format's max, a code's value is the fp8 value of its bit pattern: the
  // same as quantizing that value to the format.
  for (const auto& [name, max] : {std::pair{"fp8e4m3", 448.0f}, {"fp8e5m2", 57344.0f}}) {
    const Codec& c = codec_by_name(name);
    for (size_t k = 0; k < c.magnitudes.size(); ++k) {
      const float value = c.magnitudes[k] * max;
      float q;
      quantize(make_quant_spec(name), &value, &q, 1);
      EXPECT_EQ(q, value) << name << " " << k;
    }
    EXPECT_EQ(c.magnitudes.size(), std::string(name) == "fp8e4m3" ? 127u : 124u);
  }
}

TEST(Codecs, DynamicTreeIsDettmersCode) {
  const Codec& c = codec_by_name("dt8");
  EXPECT_EQ(c.magnitudes.size(), 128u);
  EXPECT_NEAR(c.magnitudes[1], 1e-6 * (0.1 + 0.9 * 1 / 1.0), 1e-12);  // k = 6: one step
  const Codec& s = codec_by_name("st8");
  EXPECT_EQ(s.magnitudes.size(), 128u);
  EXPECT_NEAR(s.magnitudes.back(), 1.0, 1e-7);
}

TEST(Codecs, NearestPicksTheClosestAndStochasticIsUnbiased) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> values(4097);
  for (float& v : values) v = uniform(rng);
  values[0] = 1.0f;  // scale 1
  for (const std::string& name : codec_names()) {
    const Codec& c = codec_by_name(name);
    EncodedMessage m;
    encode(c, values.data(), values.size(), {}, m);
    std::vector<float> q(values.size());
    decode(c, m, q.data());
    for (size_t i = 0; i < values.size(); ++i) {
      // No magnitude of the table is closer than the chosen one.
      const float a = std::abs(values[i]);
      float best = 2;
      for (float mag : c.magnitudes) best = std::min(best, std::abs(mag - a));
      EXPECT_LE(std::abs(std::abs(q[i]) - a), best * (1 + 1e-6f) + 1e-12f) << name << " " << i;
    }
    // Stochastic: the mean over draws of one value converges to it.
    const float x[2] = {1.0f, 0.3337f};
    double sum = 0;
    const int draws = 20000;
    for (int d = 0; d < draws; ++d) {
      EncodeOptions o;
      o.stochastic = true;
      o.seed = 7;
      o.stream = uint64_t(d);
      EncodedMessage sm;
      encode(c, x, 2, o, sm);
      float back[2];
      decode(c, sm, back);
      sum += back[1];
    }
    const auto up = std::lower_bound(c.magnitudes.begin(), c.magnitudes.end(), x[1]);
    const double gap = *up - *(up - 1);
    EXPECT_NEAR(sum / draws, x[1], 5 * gap / 2 / std::sqrt(double(draws))) << name;
  }
}

TEST(Codecs, BlocksHaveTheirOwnScalesAndWireBytesCountThem) {
  const Codec& c = codec_by_name("int8");
  std::vector<float> values = {1, -2, 0.5f, 0, 0, 0, 100, 50};
  EncodeOptions o;
  o.block = 3;
  EncodedMessage m;
  encode(c, values.data(), values.size(), o, m);
  ASSERT_EQ(m.scales, (std::vector<float>{2, 0, 100}));
  EXPECT_EQ(m.wire_bytes(), 8u + 3 * 4);
  std::vector<float> back(8);
  decode(c, m, back.data());
  EXPECT_EQ(back[1], -2.0f);
  EXPECT_EQ(back[3], 0.0f);  // an all-zero block stays zero
  EXPECT_EQ(back[6], 100.0f);
  EXPECT_NEAR(back[7], 50.0f, 100.0f / 127 / 2);
}

TEST(Codecs, ErrorsAndStatistics) {
  const float bad[2] = {1.0f, NAN};
  EncodedMessage m;
  EXPECT_THROW(encode(codec_by_name("dt8"), bad, 2, {}, m), InvalidInput);
  EXPECT_THROW(codec_by_name("dt9"), InvalidInput);
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> values(1 << 16);
  for (float& v : values) v = normal(rng);
  // Linear 8-bit over a normal message (scale ~4.5 sigma): SQNR near 6.02 * 8 - 10 dB; the
  // dynamic tree trades peak precision for range and keeps relative error low everywhere.
  const CodecErrorStats linear = codec_error_stats(codec_by_name("int8"), values, {});
  const CodecErrorStats tree = codec_error_stats(codec_by_name("dt8"), values, {});
  EXPECT_GT(linear.sqnr_db, 30);
  EXPECT_GT(tree.sqnr_db, 20);
  EXPECT_LT(tree.mean_relative_error, linear.mean_relative_error);
}

}  // namespace
}  // namespace swalp
