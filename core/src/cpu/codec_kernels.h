// The fast codec encoders (codec_kernels.cpp) and the rounding step they share with the scalar
// oracle (encode_reference in codec.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "swalp/codec.h"

namespace swalp::detail {

// Rounds v (m[lo] <= v, and v < m[lo + 1] unless lo == last) to the index of a neighbour:
// exact hits stay; nearest compares the fraction of the gap with 1/2 (ties to the even index);
// stochastic goes up iff random24 < fraction * 2^24. The fraction is computed in double, where
// v - m[lo] and the gap are exact, so the comparisons are exact.
inline size_t round_between(const float* m, size_t lo, size_t last, float v, bool stochastic,
                            uint32_t random24) {
  if (m[lo] == v || lo == last) return lo;
  const size_t hi = lo + 1;
  const double fraction = (double(v) - m[lo]) / (double(m[hi]) - m[lo]);
  if (stochastic) return double(random24) < fraction * 16777216.0 ? hi : lo;
  return fraction > 0.5 ? hi : fraction < 0.5 ? lo : (hi % 2 == 0 ? hi : lo);
}

// out[j] = stochastic_random24(seed, stream, first_index + j, stochastic_bits) for j < count
// (SIMD Philox; scalar_rounding.h).
void fill_random24(uint64_t seed, uint64_t stream, size_t first_index, size_t count,
                   int stochastic_bits, int32_t* out);
// Largest bit pattern of |in[i]| (above 0x7f800000: a NaN; equal: an infinity).
uint32_t abs_bits_max(const float* in, size_t n);
// Codes of in[0..n) scaled by `inverse` (1 / the block's absolute maximum, or 0).
void encode_nearest(const Codec& codec, const float* in, size_t n, float inverse, uint8_t* out);
// Same with stochastic rounding; element j draws Philox (seed, stream, first_index + j).
void encode_stochastic(const Codec& codec, const float* in, size_t n, size_t first_index,
                       float inverse, uint64_t seed, uint64_t stream, uint8_t* out);

}  // namespace swalp::detail
