// Data samples stochastically quantized to levels and stored packed at their bit width (ZipML):
// each feature is scaled to [0, 1] by its minimum and range, rounded to one of 2^bits levels
// (unbiased stochastic rounding), and the level index kept in `bits` bits. Several independent
// copies serve double sampling.
//
// Layout of a row for widths dividing 8 (1, 2, 4, 8): 8 / bits planes of K = ceil(d / planes)
// features; byte k holds feature p * K + k in bits [p * bits, (p + 1) * bits). Decoding a plane
// is then one contiguous loop that the compiler vectorizes. Other widths: a little-endian bit
// stream.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace swalp::zipml {

struct Dataset {
  int64_t n = 0, d = 0;
  std::vector<float> x;  // n x d, row-major
  std::vector<float> y;  // targets or labels -1/+1
  const float* row(int64_t i) const { return x.data() + i * d; }
};

// Picks the stored code of value `index` (i * d + j) that lies between levels `lower` and
// `lower` + 1, `p` = (v - level[lower]) / gap being its unbiased probability of rounding up.
using CodePicker = std::function<uint32_t(uint64_t index, uint32_t lower, double p)>;

// The uniform draw in [0, 1) that decides whether value `index` of copy `copy` rounds up (24
// Philox bits): every storage of the samples rounds with it, so they hold the same values.
double rounding_draw(uint64_t seed, uint64_t copy, uint64_t index);

class PackedSamples {
 public:
  // `levels`: sorted in [0, 1], first 0 and last 1, at most 2^bits of them. `copy` selects the
  // random stream, so copies with different numbers are independent.
  PackedSamples(const Dataset& data, int bits, const std::vector<double>& levels, uint64_t seed,
                uint64_t copy);
  // Codes chosen by `pick` (IntervalSamples stores each value's lower level this way).
  PackedSamples(const Dataset& data, int bits, const std::vector<double>& levels,
                const CodePicker& pick);

  int bits() const { return bits_; }
  int64_t bytes() const { return int64_t(codes_.size()); }
  // The quantized value of feature j of row i.
  float value(int64_t i, int64_t j) const;
  // Writes row i's quantized values to out (d floats).
  void decode_row(int64_t i, float* out) const;
  // Largest rounding error of feature j (the widest level gap times its range): refetching
  // decisions bound |a.w - Q(a).w| by sum_j |w_j| * max_error(j).
  float max_error(int64_t j) const { return max_gap_ * range_[j]; }
  // decode_row in two steps, for storages that adjust the codes in between: row i's codes (d
  // bytes), then the values of d codes (the same arithmetic as decode_row).
  void row_codes(int64_t i, uint8_t* codes) const;
  void values_of_codes(const uint8_t* codes, float* out) const;

 private:
  uint32_t code(int64_t i, int64_t j) const;
  int bits_;
  bool planar_, uniform_;
  int64_t n_, d_, row_bytes_, plane_size_;
  float max_gap_;
  std::vector<uint8_t> codes_;
  std::vector<float> minimum_, range_, step_;  // step_ = range / (levels - 1), uniform levels
  // Per feature j and code c: minimum_[j] + levels[c] * range_[j], so decoding is one lookup.
  std::vector<float> table_;
};

}  // namespace swalp::zipml
