#include "swalp/codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "swalp/codes.h"
#include "swalp/error.h"
#include "swalp/rng.h"

namespace swalp {

namespace {

// Value of a non-negative OCP fp8 bit pattern (7 bits), or NaN/Inf for the reserved ones.
double fp8_value(uint8_t pattern, int mantissa_bits, int bias) {
  const int exponent = pattern >> mantissa_bits;
  const int mantissa = pattern & ((1 << mantissa_bits) - 1);
  if (exponent == 0) return std::ldexp(double(mantissa), 1 - bias - mantissa_bits);
  return std::ldexp(1.0 + double(mantissa) / (1 << mantissa_bits), exponent - bias);
}

Codec make_codec(CodecKind kind, const std::string& name) {
  Codec c{kind, name, {}, {}, {}};
  std::vector<std::pair<double, uint8_t>> entries;
  switch (kind) {
    case CodecKind::kDynamicTree:
      for (int i = 0; i < 128; ++i) entries.emplace_back(dt8_magnitudes()[i], dt8_code(i, false));
      break;
    case CodecKind::kStaticTree:
      entries.emplace_back(0.0, 0);
      for (int e = 0; e < 8; ++e)
        for (int f = 0; f < 16; ++f) {
          if (e == 7 && f == 15) continue;  // 127 magnitudes; code 0 is zero
          const uint8_t code = uint8_t((e << 4) | f) + 1;
          entries.emplace_back(std::pow(10.0, -e) * (0.1 + 0.9 * (f + 1) / 16.0), code);
        }
      break;
    case CodecKind::kLinear8:
      for (int k = 0; k < 128; ++k) entries.emplace_back(k / 127.0, uint8_t(k));
      break;
    case CodecKind::kFp8E4M3:
      for (int p = 0; p < 0x7f; ++p) entries.emplace_back(fp8_value(uint8_t(p), 3, 7) / 448.0, p);
      break;
    case CodecKind::kFp8E5M2:
      for (int p = 0; p < 0x7c; ++p)
        entries.emplace_back(fp8_value(uint8_t(p), 2, 15) / 57344.0, p);
      break;
  }
  std::sort(entries.begin(), entries.end());
  std::fill(std::begin(c.by_code), std::end(c.by_code), 0.0f);
  for (const auto& [m, code] : entries) {
    c.magnitudes.push_back(float(m));
    c.codes.push_back(code);
    c.by_code[code] = float(m);
  }
  c.magnitudes.back() = 1.0f;  // exact by construction; guard the division's rounding
  c.by_code[c.codes.back()] = 1.0f;
  const uint32_t one_key = 0x3f80;  // top 16 bits of 1.0f
  c.bucket_start.resize(one_key + 1);
  size_t index = 0;
  for (uint32_t key = 0; key <= one_key; ++key) {
    const uint32_t bits = key << 16;
    float smallest;
    std::memcpy(&smallest, &bits, sizeof smallest);
    while (index + 1 < c.magnitudes.size() && c.magnitudes[index + 1] <= smallest) ++index;
    c.bucket_start[key] = uint8_t(index);
  }
  return c;
}

}  // namespace

const std::vector<std::string>& codec_names() {
  static const std::vector<std::string> names = {"dt8", "st8", "int8", "fp8e4m3", "fp8e5m2"};
  return names;
}

const Codec& codec_by_name(const std::string& name) {
  static const std::vector<Codec> codecs = {
      make_codec(CodecKind::kDynamicTree, "dt8"), make_codec(CodecKind::kStaticTree, "st8"),
      make_codec(CodecKind::kLinear8, "int8"), make_codec(CodecKind::kFp8E4M3, "fp8e4m3"),
      make_codec(CodecKind::kFp8E5M2, "fp8e5m2")};
  for (const Codec& c : codecs)
    if (c.name == name) return c;
  throw InvalidInput("bad codec '" + name + "'; accepted: dt8, st8, int8, fp8e4m3, fp8e5m2");
}

void encode(const Codec& codec, const float* values, size_t n, const EncodeOptions& o,
            EncodedMessage& out) {
  const size_t block = o.block == 0 ? std::max<size_t>(n, 1) : o.block;
  out.block = block;
  out.codes.resize(n);
  out.scales.assign((n + block - 1) / block, 0.0f);
  const float* m = codec.magnitudes.data();
  const size_t count = codec.magnitudes.size();
  for (size_t b = 0; b < out.scales.size(); ++b) {
    const size_t begin = b * block, end = std::min(n, begin + block);
    float absmax = 0;
    for (size_t i = begin; i < end; ++i) {
      if (!std::isfinite(values[i]))
        throw InvalidInput("cannot encode a non-finite value (element " + std::to_string(i) +
                           ") with codec " + codec.name);
      absmax = std::max(absmax, std::abs(values[i]));
    }
    out.scales[b] = absmax;
    const float inverse = absmax > 0 ? 1.0f / absmax : 0.0f;
    for (size_t i = begin; i < end; ++i) {
      const float v = std::min(1.0f, std::abs(values[i]) * inverse);
      // Neighbours m[hi - 1] <= v <= m[hi]: from the bucket of v's top bits, step forward.
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      size_t hi = codec.bucket_start[bits >> 16];
      while (hi < count - 1 && m[hi] < v) ++hi;
      size_t pick = hi;
      if (hi > 0 && m[hi] != v) {
        const float lo = m[hi - 1], up = m[hi];
        const double fraction = (double(v) - lo) / (double(up) - lo);
        if (o.stochastic) {
          const uint32_t u = philox_bits(o.seed, o.stream, i) >> 8;
          pick = double(u) < fraction * 16777216.0 ? hi : hi - 1;
        } else {
          pick = fraction > 0.5 ? hi : fraction < 0.5 ? hi - 1 : (hi % 2 == 0 ? hi : hi - 1);
        }
      }
      out.codes[i] = uint8_t(codec.codes[pick] | (std::signbit(values[i]) && pick > 0 ? 0x80 : 0));
    }
  }
}

void decode(const Codec& codec, const EncodedMessage& message, float* out) {
  const size_t n = message.codes.size();
  const uint8_t* codes = message.codes.data();
  for (size_t b = 0; b < message.scales.size(); ++b) {
    const int64_t begin = int64_t(b * message.block);
    const int64_t end = int64_t(std::min(n, (b + 1) * message.block));
    const float scale = message.scales[b];
    // Each value on its own: split over the threads for large blocks.
#pragma omp parallel for schedule(static) if (end - begin >= 65536)
    for (int64_t i = begin; i < end; ++i) {
      const float magnitude = codec.by_code[codes[i] & 0x7f] * scale;
      out[i] = (codes[i] & 0x80) ? -magnitude : magnitude;
    }
  }
}

CodecErrorStats codec_error_stats(const Codec& codec, const std::vector<float>& values,
                                  const EncodeOptions& options) {
  EncodedMessage message;
  encode(codec, values.data(), values.size(), options, message);
  std::vector<float> decoded(values.size());
  decode(codec, message, decoded.data());
  CodecErrorStats s;
  double signal = 0, noise = 0;
  size_t nonzero = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double e = std::abs(double(values[i]) - decoded[i]);
    s.mean_absolute_error += e;
    signal += double(values[i]) * values[i];
    noise += e * e;
    if (values[i] != 0) s.mean_relative_error += e / std::abs(values[i]), ++nonzero;
  }
  s.mean_absolute_error /= double(std::max<size_t>(1, values.size()));
  s.mean_relative_error /= double(std::max<size_t>(1, nonzero));
  s.sqnr_db = noise > 0 ? 10 * std::log10(signal / noise) : INFINITY;
  return s;
}

}  // namespace swalp
