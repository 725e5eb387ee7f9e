// sign1: one bit per value (its sign) and, per block, two float32 reconstruction values: the
// mean of the block's non-negative values and the mean of its negative values (Seide et al.,
// "1-bit stochastic gradient descent", Interspeech 2014, whose per-column pair of values this is
// per block). Biased on its own; meant to be used with error feedback, which carries what a
// message lost into the next one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace swalp::detail {

// codes: (n + 7) / 8 bytes, bit i % 8 of byte i / 8 set when values[i] >= 0; scales: two per
// block of `block` values (block >= 1), [2b] the non-negative mean, [2b + 1] the negative mean
// (0 where the block has none). The values must be finite.
void encode_sign1(const float* values, size_t n, size_t block, uint8_t* codes, float* scales);
void decode_sign1(const uint8_t* codes, const float* scales, size_t n, size_t block, float* out,
                  bool accumulate);

}  // namespace swalp::detail
