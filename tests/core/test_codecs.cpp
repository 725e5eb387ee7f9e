// The 8-bit message codecs: every code round-trips, fp8 codes are the OCP bit patterns,
// rounding is nearest or unbiased stochastic, scales per block, error statistics.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>

#include "swalp/codec.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp {
namespace {

// The codecs with a magnitude table (all but sign1, tested on its own below).
std::vector<std::string> table_codec_names() {
  std::vector<std::string> names;
  for (const std::string& name : codec_names())
    if (codec_by_name(name).kind != CodecKind::kSign1) names.push_back(name);
  return names;
}

TEST(Codecs, EveryCodeRoundTrips) {
  for (const std::string& name : table_codec_names()) {
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
        if (k > 0) {
          EXPECT_EQ(m.codes[1] >> 7, sign < 0 ? 1 : 0) << name << " " << k;
        }
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
  for (const std::string& name : table_codec_names()) {
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

// Bit patterns of v in [0, 1] to check: a stride over all of them, and around every bucket edge,
// every nearest-rounding threshold and every magnitude and midpoint of the codec.
std::vector<float> probe_values(const Codec& c, uint32_t stride) {
  std::vector<uint32_t> bits;
  for (uint32_t b = 0; b <= 0x3f800000u; b += stride) bits.push_back(b);
  const auto around = [&](uint32_t center) {
    for (int d = -3; d <= 3; ++d)
      if (int64_t(center) + d >= 0 && int64_t(center) + d <= 0x3f800000) bits.push_back(center + d);
  };
  for (uint32_t key = 0; key < c.nearest.size(); ++key) {
    around(key << 16);
    around(key << 16 | uint32_t(c.nearest[key] & 0xffff));
  }
  for (size_t k = 0; k < c.magnitudes.size(); ++k) {
    uint32_t b;
    std::memcpy(&b, &c.magnitudes[k], sizeof b);
    around(b);
    if (k > 0) {
      const float mid = float((double(c.magnitudes[k - 1]) + c.magnitudes[k]) / 2);
      std::memcpy(&b, &mid, sizeof b);
      around(b);
    }
  }
  std::vector<float> values;
  values.push_back(1.0f);  // the scale: v = |x|
  for (size_t i = 0; i < bits.size(); ++i) {
    float f;
    std::memcpy(&f, &bits[i], sizeof f);
    values.push_back(i % 2 ? -f : f);
  }
  return values;
}

TEST(Codecs, FastEncoderEqualsTheReferenceOnEveryBucket) {
  for (const std::string& name : table_codec_names()) {
    const Codec& c = codec_by_name(name);
    const std::vector<float> values = probe_values(c, 997);
    for (bool stochastic : {false, true}) {
      EncodeOptions o;
      o.stochastic = stochastic;
      o.seed = 11;
      o.stream = 3;
      EncodedMessage fast, reference;
      encode(c, values.data(), values.size(), o, fast);
      encode_reference(c, values.data(), values.size(), o, reference);
      ASSERT_EQ(fast.scales, reference.scales) << name;
      size_t differ = 0;
      for (size_t i = 0; i < values.size(); ++i)
        if (fast.codes[i] != reference.codes[i] && differ++ < 5)
          ADD_FAILURE() << name << (stochastic ? " stochastic" : " nearest") << " value "
                        << values[i] << ": " << int(fast.codes[i]) << " vs "
                        << int(reference.codes[i]);
      EXPECT_EQ(differ, 0u) << name << " of " << values.size();
    }
  }
}

TEST(Codecs, FastEncoderEqualsTheReferenceForAnyBlockAndThreadCount) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> values(300001);  // above the size that splits over the threads
  for (float& v : values) v = normal(rng) * (rng() % 4 == 0 ? 1e-4f : 1.0f);
  values[12345] = 0;
  values[70000] = -0.0f;
  for (const std::string& name : {std::string("dt8"), std::string("fp8e5m2")})
    for (size_t block : {size_t(0), size_t(1), size_t(7), size_t(4096), size_t(40000)})
      for (bool stochastic : {false, true}) {
        EncodeOptions o;
        o.block = block;
        o.stochastic = stochastic;
        o.seed = 5;
        EncodedMessage reference, fast, one_thread;
        encode_reference(codec_by_name(name), values.data(), values.size(), o, reference);
        encode(codec_by_name(name), values.data(), values.size(), o, fast);
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        encode(codec_by_name(name), values.data(), values.size(), o, one_thread);
        omp_set_num_threads(threads);
        EXPECT_EQ(fast.scales, reference.scales) << name << " block " << block;
        EXPECT_TRUE(fast.codes == reference.codes)
            << name << " block " << block << " " << stochastic;
        EXPECT_TRUE(one_thread.codes == fast.codes) << name << " block " << block;
      }
}

TEST(Codecs, NonFiniteValuesAreNamedByTheirElement) {
  std::vector<float> values(200000, 0.5f);
  values[150001] = INFINITY;
  for (size_t block : {size_t(0), size_t(1000)}) {
    EncodeOptions o;
    o.block = block;
    EncodedMessage m;
    try {
      encode(codec_by_name("dt8"), values.data(), values.size(), o, m);
      ADD_FAILURE() << "no error for block " << block;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("element 150001"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace swalp

namespace swalp {
namespace {

TEST(Sign1, DecodesEachValueToTheMeanOfItsBlocksValuesOfTheSameSign) {
  const Codec& c = codec_by_name("SIGN1");
  std::mt19937 rng(8);
  std::normal_distribution<float> normal(0.3f, 1.0f);
  std::vector<float> values(1003);  // not a multiple of 8 or of the block
  for (float& v : values) v = normal(rng);
  values[5] = 0.0f;  // zero counts as non-negative
  for (size_t block : {size_t(0), size_t(7), size_t(64)}) {
    EncodeOptions o;
    o.block = block;
    EncodedMessage m;
    encode(c, values.data(), values.size(), o, m);
    const size_t unit = block == 0 ? values.size() : block;
    const size_t blocks = (values.size() + unit - 1) / unit;
    ASSERT_EQ(m.codes.size(), (values.size() + 7) / 8);
    ASSERT_EQ(m.scales.size(), 2 * blocks);
    EXPECT_EQ(m.wire_bytes(), (values.size() + 7) / 8 + 8 * blocks);
    EXPECT_EQ(encoded_code_bytes(c, values.size()), m.codes.size());
    EXPECT_EQ(encoded_scale_count(c, values.size(), block), m.scales.size());
    std::vector<float> out(values.size());
    decode(c, m, out.data());
    for (size_t b = 0; b < blocks; ++b) {
      const size_t begin = b * unit, end = std::min(values.size(), begin + unit);
      double sums[2] = {0, 0};
      size_t counts[2] = {0, 0};
      for (size_t i = begin; i < end; ++i) {
        const int negative = values[i] < 0;
        sums[negative] += values[i];
        ++counts[negative];
      }
      for (size_t i = begin; i < end; ++i) {
        const int negative = values[i] < 0;
        ASSERT_EQ(out[i], float(sums[negative] / double(counts[negative])))
            << "block " << block << ", value " << i;
      }
    }
    std::vector<float> twice = out;
    decode(c, m.codes.data(), m.scales.data(), values.size(), m.block, twice.data(), true);
    for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(twice[i], out[i] + out[i]);
  }
}

TEST(Sign1, ErrorFeedbackKeepsTheResidualBounded) {
  // What one message loses is added to the next gradient: the decoded messages' sum then
  // tracks the gradients' sum, and the residual stays bounded instead of growing with the steps.
  const Codec& c = codec_by_name("sign1");
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t n = 512;
  std::vector<float> gradient(n), residual(n, 0.0f), corrected(n), decoded(n);
  std::vector<double> sent(n, 0.0), total(n, 0.0);
  float largest = 0;
  for (int step = 0; step < 300; ++step) {
    for (size_t i = 0; i < n; ++i) {
      gradient[i] = normal(rng) * (i % 4 == 0 ? 10.0f : 0.1f);  // mixed scales
      total[i] += gradient[i];
      corrected[i] = gradient[i] + residual[i];
    }
    EncodeOptions o;
    o.block = 64;
    EncodedMessage m;
    encode(c, corrected.data(), n, o, m);
    decode(c, m, decoded.data());
    for (size_t i = 0; i < n; ++i) {
      residual[i] = corrected[i] - decoded[i];
      sent[i] += decoded[i];
      largest = std::max(largest, std::abs(residual[i]));
    }
  }
  EXPECT_LT(largest, 200.0f);  // about 20 gradient standard deviations of the large values
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(sent[i], total[i], std::abs(residual[i]) + 1e-2);
}

TEST(Sign1, RefusesStochasticEncodingAndNonFiniteValues) {
  const Codec& c = codec_by_name("sign1");
  const float values[3] = {1.0f, NAN, -2.0f};
  EncodedMessage m;
  EncodeOptions o;
  EXPECT_THROW(encode(c, values, 3, o, m), InvalidInput);
  o.stochastic = true;
  const float finite[2] = {1.0f, -1.0f};
  try {
    encode(c, finite, 2, o, m);
    ADD_FAILURE() << "stochastic sign1 accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("no stochastic rounding"), std::string::npos);
  }
}

}  // namespace
}  // namespace swalp
