#include "zipml/interval_samples.h"

#include <cstring>

#include "swalp/error.h"

namespace swalp::zipml {

IntervalSamples::IntervalSamples(const Dataset& data, int bits, const std::vector<double>& levels,
                                 uint64_t seed, uint64_t first_copy, int copies)
    : d_(data.d),
      copies_(copies),
      up_(size_t(copies < 1 ? 0 : copies),
          std::vector<uint8_t>(size_t((data.n * data.d + 7) / 8), uint8_t(0))),
      lower_(data, bits, levels, [&](uint64_t index, uint32_t lower, double p) {
        // Every copy's up bit is drawn while the value's interval is at hand.
        for (int c = 0; c < copies; ++c)
          if (rounding_draw(seed, first_copy + uint64_t(c), index) < p)
            up_[size_t(c)][index >> 3] |= uint8_t(1u << (index & 7));
        return lower;
      }) {
  if (copies < 1) throw InvalidInput("interval samples need at least one copy");
}

int64_t IntervalSamples::bytes() const {
  int64_t total = lower_.bytes();
  for (const auto& bits : up_) total += int64_t(bits.size());
  return total;
}

// The row's lower levels, each raised by the copy's up bit, decoded as PackedSamples decodes.
__attribute__((target_clones("avx2", "default"))) void IntervalSamples::decode_row(
    int64_t i, int copy, float* out) const {
  if (cached_row_ != i) {  // the copies of a row are read one after another: unpack it once
    lower_codes_.resize(size_t(d_));
    lower_.row_codes(i, lower_codes_.data());
    cached_row_ = i;
  }
  codes_.resize(size_t(d_));
  const uint8_t* lower = lower_codes_.data();
  const uint8_t* bits = up_[size_t(copy)].data();
  const uint64_t first = uint64_t(i * d_);
  const size_t total_bytes = up_[size_t(copy)].size();
  int64_t j = 0;
  // Eight values at a time: their 8 bits (from two bytes, the row need not start on a byte),
  // spread to one 0/1 byte each and added to 8 codes at once (codes < 255: no carries).
  for (; j + 8 <= d_; j += 8) {
    const uint64_t index = first + uint64_t(j), byte = index >> 3;
    uint32_t window = bits[byte];
    if (byte + 1 < total_bytes) window |= uint32_t(bits[byte + 1]) << 8;
    const uint64_t eight = (window >> (index & 7)) & 0xFF;
    uint64_t spread = (eight * 0x0101010101010101ULL) & 0x8040201008040201ULL;
    spread = ((spread + 0x7F7F7F7F7F7F7F7FULL) & 0x8080808080808080ULL) >> 7;
    uint64_t lanes;
    std::memcpy(&lanes, lower + j, 8);
    lanes += spread;
    std::memcpy(codes_.data() + j, &lanes, 8);
  }
  for (; j < d_; ++j) {
    const uint64_t index = first + uint64_t(j);
    codes_[size_t(j)] = uint8_t(lower[j] + ((bits[index >> 3] >> (index & 7)) & 1));
  }
  lower_.values_of_codes(codes_.data(), out);
}

}  // namespace swalp::zipml
