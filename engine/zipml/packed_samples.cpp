#include "zipml/packed_samples.h"

#include <algorithm>
#include <cmath>

#include "swalp/error.h"
#include "swalp/rng.h"

namespace swalp::zipml {

double rounding_draw(uint64_t seed, uint64_t copy, uint64_t index) {
  return double(philox_bits(seed, copy, index) >> 8) / 16777216.0;
}

PackedSamples::PackedSamples(const Dataset& data, int bits, const std::vector<double>& levels,
                             uint64_t seed, uint64_t copy)
    : PackedSamples(data, bits, levels, [seed, copy](uint64_t index, uint32_t lower, double p) {
        return rounding_draw(seed, copy, index) < p ? lower + 1 : lower;
      }) {}

PackedSamples::PackedSamples(const Dataset& data, int bits, const std::vector<double>& levels,
                             const CodePicker& pick)
    : bits_(bits), planar_(8 % bits == 0), n_(data.n), d_(data.d) {
  if (bits < 1 || bits > 8) throw InvalidInput("sample bits must be in 1..8");
  if (levels.size() < 2 || levels.size() > (size_t(1) << bits) || levels.front() != 0.0 ||
      levels.back() != 1.0 || !std::is_sorted(levels.begin(), levels.end()))
    throw InvalidInput("levels must be sorted, start at 0, end at 1 and number at most 2^bits");
  plane_size_ = planar_ ? (d_ + 8 / bits - 1) / (8 / bits) : 0;
  row_bytes_ = planar_ ? plane_size_ : (d_ * bits + 7) / 8;
  codes_.assign(size_t(n_ * row_bytes_), 0);
  minimum_.assign(d_, 0.0f);
  range_.assign(d_, 0.0f);
  for (int64_t j = 0; j < d_; ++j) {
    float lo = data.x[j], hi = data.x[j];
    for (int64_t i = 1; i < n_; ++i) {
      lo = std::min(lo, data.x[i * d_ + j]);
      hi = std::max(hi, data.x[i * d_ + j]);
    }
    minimum_[j] = lo;
    range_[j] = hi - lo;
  }
  max_gap_ = 0;
  for (size_t k = 1; k < levels.size(); ++k)
    max_gap_ = std::max(max_gap_, float(levels[k] - levels[k - 1]));
  const int s = int(levels.size());
  uniform_ = true;
  for (int c = 0; c < s; ++c)
    uniform_ = uniform_ && std::abs(levels[c] - double(c) / (s - 1)) < 1e-12;
  step_.resize(d_);
  for (int64_t j = 0; j < d_; ++j) step_[j] = range_[j] / float(s - 1);
  table_.assign(size_t(d_) << bits, 0.0f);
  for (int64_t j = 0; j < d_; ++j)
    for (int c = 0; c < s; ++c)  // the same arithmetic as the vectorized uniform decoding
      table_[(j << bits) + c] =
          uniform_ ? minimum_[j] + float(c) * step_[j] : minimum_[j] + float(levels[c]) * range_[j];
  for (int64_t i = 0; i < n_; ++i) {
    uint8_t* row = codes_.data() + i * row_bytes_;
    for (int64_t j = 0; j < d_; ++j) {
      const double v = range_[j] > 0 ? (double(data.x[i * d_ + j]) - minimum_[j]) / range_[j] : 0;
      // Levels around v; up with probability (v - lower) / (upper - lower): unbiased.
      int up = int(std::upper_bound(levels.begin(), levels.end(), v) - levels.begin());
      up = std::clamp(up, 1, s - 1);
      const double lower = levels[up - 1], upper = levels[up];
      const double p = std::clamp((v - lower) / (upper - lower), 0.0, 1.0);
      const uint32_t code = pick(uint64_t(i * d_ + j), uint32_t(up - 1), p);
      if (planar_) {
        row[j % plane_size_] |= uint8_t(code << ((j / plane_size_) * bits));
        continue;
      }
      const int64_t bit = j * bits;
      // Bit stream: little-endian fields; a code may straddle two bytes.
      const uint32_t shifted = code << (bit & 7);
      row[bit >> 3] |= uint8_t(shifted);
      if ((bit & 7) + bits > 8) row[(bit >> 3) + 1] |= uint8_t(shifted >> 8);
    }
  }
}

uint32_t PackedSamples::code(int64_t i, int64_t j) const {
  const uint8_t* row = codes_.data() + i * row_bytes_;
  const uint32_t mask = (1u << bits_) - 1;
  if (planar_) return (row[j % plane_size_] >> ((j / plane_size_) * bits_)) & mask;
  const int64_t bit = j * bits_;
  uint32_t word = row[bit >> 3];
  if ((bit & 7) + bits_ > 8) word |= uint32_t(row[(bit >> 3) + 1]) << 8;
  return (word >> (bit & 7)) & mask;
}

float PackedSamples::value(int64_t i, int64_t j) const { return table_[(j << bits_) + code(i, j)]; }

// Cloned for AVX2 (picked at load time by the dynamic loader): the byte-to-float conversion is
// where the time goes.
__attribute__((target_clones("avx2", "default"))) void PackedSamples::decode_row(int64_t i,
                                                                                 float* out) const {
  if (!planar_) {
    for (int64_t j = 0; j < d_; ++j) out[j] = value(i, j);
    return;
  }
  const uint8_t* row = codes_.data() + i * row_bytes_;
  const uint32_t mask = (1u << bits_) - 1;
  for (int plane = 0; plane * plane_size_ < d_; ++plane) {
    const int64_t first = plane * plane_size_;
    const int64_t count = std::min(plane_size_, d_ - first);
    const int shift = plane * bits_;
    float* o = out + first;
    if (uniform_) {
      // Contiguous and branch-free: vectorized.
      const float* minimum = minimum_.data() + first;
      const float* step = step_.data() + first;
      for (int64_t k = 0; k < count; ++k)
        o[k] = minimum[k] + float((row[k] >> shift) & mask) * step[k];
    } else {
      for (int64_t k = 0; k < count; ++k)
        o[k] = table_[((first + k) << bits_) + ((row[k] >> shift) & mask)];
    }
  }
}

}  // namespace swalp::zipml

namespace swalp::zipml {

__attribute__((target_clones("avx2", "default"))) void PackedSamples::row_codes(
    int64_t i, uint8_t* codes) const {
  if (!planar_) {
    for (int64_t j = 0; j < d_; ++j) codes[j] = uint8_t(code(i, j));
    return;
  }
  const uint8_t* __restrict row = codes_.data() + i * row_bytes_;
  uint8_t* __restrict into = codes;
  const uint32_t mask = (1u << bits_) - 1;
  for (int plane = 0; plane * plane_size_ < d_; ++plane) {
    const int64_t first = plane * plane_size_;
    const int64_t count = std::min(plane_size_, d_ - first);
    const int shift = plane * bits_;
    for (int64_t k = 0; k < count; ++k) into[first + k] = uint8_t((row[k] >> shift) & mask);
  }
}

__attribute__((target_clones("avx2", "default"))) void PackedSamples::values_of_codes(
    const uint8_t* codes, float* out) const {
  // Local restrict pointers: through the members the compiler must assume `out` may alias
  // them and would not vectorize.
  const int64_t d = d_;
  if (uniform_) {
    const float* __restrict minimum = minimum_.data();
    const float* __restrict step = step_.data();
    float* __restrict o = out;
    for (int64_t j = 0; j < d; ++j) o[j] = minimum[j] + float(codes[j]) * step[j];
    return;
  }
  for (int64_t j = 0; j < d; ++j) out[j] = table_[(j << bits_) + codes[j]];
}

}  // namespace swalp::zipml
