#include "swalp/codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cpu/codec_kernels.h"
#include "sign_codec.h"
#include "swalp/codes.h"
#include "swalp/error.h"
#include "swalp/rng.h"
#include "swalp/text.h"

namespace swalp {

namespace {

// Value of a non-negative OCP fp8 bit pattern (7 bits), or NaN/Inf for the reserved ones.
double fp8_value(uint8_t pattern, int mantissa_bits, int bias) {
  const int exponent = pattern >> mantissa_bits;
  const int mantissa = pattern & ((1 << mantissa_bits) - 1);
  if (exponent == 0) return std::ldexp(double(mantissa), 1 - bias - mantissa_bits);
  return std::ldexp(1.0 + double(mantissa) / (1 << mantissa_bits), exponent - bias);
}

float float_of_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// The largest table index whose magnitude is at most v (v >= 0 = magnitudes[0]).
size_t floor_index(const std::vector<float>& m, float v) {
  return size_t(std::upper_bound(m.begin(), m.end(), v) - m.begin()) - 1;
}

size_t nearest_index(const std::vector<float>& m, float v) {
  return detail::round_between(m.data(), floor_index(m, v), m.size() - 1, v, false, 0);
}

// The encoder's tables over the buckets of v's top 16 bits (codec.h). A bucket that held two
// magnitudes would need a longer search: refused here, so the encoder never meets one.
void build_buckets(Codec& c) {
  const uint32_t one_key = 0x3f80;  // top 16 bits of 1.0f
  const size_t last = c.magnitudes.size() - 1;
  c.bucket_start.resize(one_key + 1);
  c.nearest.assign(0x8000 + one_key + 1, 0);
  for (uint32_t key = 0; key <= one_key; ++key) {
    const uint32_t first_bits = key << 16,
                   last_bits = key == one_key ? first_bits : first_bits | 0xffff;
    const float first = float_of_bits(first_bits), top = float_of_bits(last_bits);
    const size_t start = floor_index(c.magnitudes, first);
    const size_t below = nearest_index(c.magnitudes, first),
                 above = nearest_index(c.magnitudes, top);
    if ((start + 2 <= last && c.magnitudes[start + 2] <= top) || above > below + 1)
      throw std::logic_error("codec " + c.name + ": two magnitudes in one encoder bucket");
    c.bucket_start[key] = uint8_t(start);
    // The first float of the bucket that rounds up: a binary search over the bit patterns.
    uint32_t low = first_bits, high = last_bits + 1;
    while (low < high) {
      const uint32_t mid = low + (high - low) / 2;
      if (nearest_index(c.magnitudes, float_of_bits(mid)) > below)
        high = mid;
      else
        low = mid + 1;
    }
    const uint32_t threshold = low > last_bits ? 0 : low & 0xffff;
    const size_t upper = low > last_bits ? below : above;
    c.nearest[key] =
        int32_t(threshold | uint32_t(c.codes[below]) << 16 | uint32_t(c.codes[upper]) << 24);
    // Negative v (sign bit set, key + 0x8000): the same codes with the sign bit, except zero.
    const auto signed_code = [&](size_t index) {
      return uint32_t(c.codes[index]) | (index > 0 ? 0x80u : 0u);
    };
    c.nearest[key | 0x8000] =
        int32_t(threshold | signed_code(below) << 16 | signed_code(upper) << 24);
  }
}

Codec make_codec(CodecKind kind, const std::string& name) {
  Codec c{};
  c.kind = kind;
  c.name = name;
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
    case CodecKind::kSign1:
      throw std::logic_error("sign1 has no magnitude table");
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
  build_buckets(c);
  return c;
}

}  // namespace

const std::vector<std::string>& codec_names() {
  static const std::vector<std::string> names = {"dt8",     "st8",     "int8",
                                                 "fp8e4m3", "fp8e5m2", "sign1"};
  return names;
}

const Codec& codec_by_name(const std::string& name) {
  static const std::vector<Codec> codecs = {make_codec(CodecKind::kDynamicTree, "dt8"),
                                            make_codec(CodecKind::kStaticTree, "st8"),
                                            make_codec(CodecKind::kLinear8, "int8"),
                                            make_codec(CodecKind::kFp8E4M3, "fp8e4m3"),
                                            make_codec(CodecKind::kFp8E5M2, "fp8e5m2"),
                                            Codec{CodecKind::kSign1, "sign1", {}, {}, {}, {}, {}}};
  const std::string lower = ascii_lower(name);  // spelled in any case, as format names are
  for (const Codec& c : codecs)
    if (c.name == lower) return c;
  throw InvalidInput("bad codec '" + name + "'; accepted: dt8, st8, int8, fp8e4m3, fp8e5m2, sign1");
}

size_t encoded_code_bytes(const Codec& codec, size_t n) {
  return codec.kind == CodecKind::kSign1 ? (n + 7) / 8 : n;
}

size_t encoded_scale_count(const Codec& codec, size_t n, size_t block) {
  const size_t unit = block == 0 ? std::max<size_t>(n, 1) : block;
  const size_t blocks = (n + unit - 1) / unit;
  return codec.kind == CodecKind::kSign1 ? 2 * blocks : blocks;
}

namespace {

// The first non-finite value of values[begin, end) as an InvalidInput.
[[noreturn]] void throw_non_finite(const Codec& codec, const float* values, size_t begin,
                                   size_t end) {
  size_t i = begin;
  while (i < end && std::isfinite(values[i])) ++i;
  throw InvalidInput("cannot encode a non-finite value (element " + std::to_string(i) +
                     ") with codec " + codec.name);
}

void start_message(const Codec& codec, size_t n, size_t block_option, EncodedMessage& out) {
  out.block = block_option == 0 ? std::max<size_t>(n, 1) : block_option;
  out.values = n;
  out.codes.resize(encoded_code_bytes(codec, n));
  out.scales.assign(encoded_scale_count(codec, n, block_option), 0.0f);
}

// sign1 has one implementation, the scalar loop, which serves as its own oracle.
void encode_sign1_message(const Codec& codec, const float* values, size_t n, const EncodeOptions& o,
                          EncodedMessage& out) {
  if (o.stochastic)
    throw InvalidInput(
        "codec sign1 has no stochastic rounding (its error is carried by error feedback); "
        "stochastic encoding is accepted by: dt8, st8, int8, fp8e4m3, fp8e5m2");
  start_message(codec, n, o.block, out);
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(values[i])) throw_non_finite(codec, values, i, n);
  detail::encode_sign1(values, n, out.block, out.codes.data(), out.scales.data());
}

}  // namespace

void encode_reference(const Codec& codec, const float* values, size_t n, const EncodeOptions& o,
                      EncodedMessage& out) {
  if (codec.kind == CodecKind::kSign1) return encode_sign1_message(codec, values, n, o, out);
  start_message(codec, n, o.block, out);
  const size_t block = out.block, last = codec.magnitudes.size() - 1;
  for (size_t b = 0; b < out.scales.size(); ++b) {
    const size_t begin = b * block, end = std::min(n, begin + block);
    float absmax = 0;
    for (size_t i = begin; i < end; ++i) {
      if (!std::isfinite(values[i])) throw_non_finite(codec, values, i, end);
      absmax = std::max(absmax, std::abs(values[i]));
    }
    out.scales[b] = absmax;
    const float inverse = absmax > 0 ? 1.0f / absmax : 0.0f;
    for (size_t i = begin; i < end; ++i) {
      const float v = std::min(std::abs(values[i]) * inverse, 1.0f);
      const uint32_t random24 = o.stochastic ? philox_bits(o.seed, o.stream, i) >> 8 : 0;
      const size_t pick =
          detail::round_between(codec.magnitudes.data(), floor_index(codec.magnitudes, v), last, v,
                                o.stochastic, random24);
      out.codes[i] = uint8_t(codec.codes[pick] | (std::signbit(values[i]) && pick > 0 ? 0x80 : 0));
    }
  }
}

void encode(const Codec& codec, const float* values, size_t n, const EncodeOptions& o,
            EncodedMessage& out) {
  if (codec.kind == CodecKind::kSign1) return encode_sign1_message(codec, values, n, o, out);
  start_message(codec, n, o.block, out);
  const size_t block = out.block, blocks = out.scales.size();
  // Pieces of a few L2-sized runs: enough of them to split over the threads, and large enough
  // that a thread's piece streams.
  constexpr size_t kPiece = 1 << 15;
  const bool parallel = n >= 4 * kPiece;
  const auto encode_run = [&](size_t begin, size_t end) {
    const size_t b = begin / block;
    const float inverse = out.scales[b] > 0 ? 1.0f / out.scales[b] : 0.0f;
    if (o.stochastic)
      detail::encode_stochastic(codec, values + begin, end - begin, begin, inverse, o.seed,
                                o.stream, out.codes.data() + begin);
    else
      detail::encode_nearest(codec, values + begin, end - begin, inverse, out.codes.data() + begin);
  };
  if (block <= kPiece) {
    // Small blocks: each block's maximum and codes in one visit, while it is in cache.
    const int64_t per_group = int64_t(kPiece / block),
                  groups = (int64_t(blocks) + per_group - 1) / per_group;
    int64_t first_bad = int64_t(blocks);
#pragma omp parallel for schedule(static) if (parallel) reduction(min : first_bad)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t b = g * per_group; b < std::min(int64_t(blocks), (g + 1) * per_group); ++b) {
        const size_t begin = size_t(b) * block, end = std::min(n, begin + block);
        const uint32_t bits = detail::abs_bits_max(values + begin, end - begin);
        if (bits >= 0x7f800000u) {
          first_bad = std::min(first_bad, b);
          continue;
        }
        out.scales[b] = float_of_bits(bits);
        encode_run(begin, end);
      }
    if (first_bad < int64_t(blocks))
      throw_non_finite(codec, values, size_t(first_bad) * block,
                       std::min(n, size_t(first_bad + 1) * block));
    return;
  }
  // Large blocks: every block's maximum first (split over the threads), then the codes.
  for (size_t b = 0; b < blocks; ++b) {
    const size_t begin = b * block, end = std::min(n, begin + block);
    uint32_t best = 0;
#pragma omp parallel for schedule(static) reduction(max : best) if (parallel)
    for (int64_t p = int64_t(begin); p < int64_t(end); p += int64_t(kPiece))
      best = std::max(best, detail::abs_bits_max(values + p, std::min(end - size_t(p), kPiece)));
    if (best >= 0x7f800000u) throw_non_finite(codec, values, begin, end);
    out.scales[b] = float_of_bits(best);
  }
  const int64_t pieces = int64_t((n + kPiece - 1) / kPiece);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t p = 0; p < pieces; ++p) {
    const size_t begin = size_t(p) * kPiece, end = std::min(n, begin + kPiece);
    // A piece lies in one block or straddles two.
    const size_t split = std::min(end, (begin / block + 1) * block);
    encode_run(begin, split);
    if (split < end) encode_run(split, end);
  }
}

void decode(const Codec& codec, const uint8_t* codes, const float* scales, size_t count,
            size_t block_size, float* out, bool accumulate) {
  if (codec.kind == CodecKind::kSign1)
    return detail::decode_sign1(codes, scales, count, std::max<size_t>(block_size, 1), out,
                                accumulate);
  const int64_t n = int64_t(count), block = int64_t(std::max<size_t>(block_size, 1));
  const int64_t blocks = (n + block - 1) / block;
  // Values [begin, end) of block b, through the block's 256 values (signs included): one load
  // per value.
  const auto decode_run = [&](int64_t b, int64_t begin, int64_t end) {
    float value_of[256];
    for (int code = 0; code < 256; ++code) {
      const float magnitude = codec.by_code[code & 0x7f] * scales[b];
      value_of[code] = (code & 0x80) ? -magnitude : magnitude;
    }
    if (accumulate)
      for (int64_t i = begin; i < end; ++i) out[i] += value_of[codes[i]];
    else
      for (int64_t i = begin; i < end; ++i) out[i] = value_of[codes[i]];
  };
  constexpr int64_t kPiece = 1 << 15;
  if (blocks >= 16) {  // many blocks: the threads take whole blocks
#pragma omp parallel for schedule(static) if (n >= 4 * kPiece)
    for (int64_t b = 0; b < blocks; ++b) decode_run(b, b * block, std::min(n, (b + 1) * block));
    return;
  }
  for (int64_t b = 0; b < blocks; ++b) {  // few: the threads split each block
    const int64_t begin = b * block, end = std::min(n, begin + block);
#pragma omp parallel for schedule(static) if (end - begin >= 4 * kPiece)
    for (int64_t p = begin; p < end; p += kPiece) decode_run(b, p, std::min(end, p + kPiece));
  }
}

void decode(const Codec& codec, const EncodedMessage& message, float* out) {
  decode(codec, message.codes.data(), message.scales.data(), message.values, message.block, out);
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
