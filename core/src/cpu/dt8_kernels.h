// The dt8 quantizer's vector kernels for nearest and stochastic rounding (dt8_kernels.cpp); the
// scalar paths and the tables they read are in dynamic_tree.cpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace swalp::detail {

// out[i] = the dt8 value nearest in[i] in a scope whose absolute maximum is m (finite, > 0):
// magnitudes[k] * m with in[i]'s sign, k from words[top 16 bits of |in[i]| / m], one word per
// bucket: t | below << 16 | above << 24 (k = above iff the low 16 bits of |in[i]| / m >= t).
void dt8_nearest(const int32_t* words, const float* magnitudes, const float* in, size_t n, float m,
                 float* out);

// Stochastic rounding of the leading whole vectors of in[0..n) in a scope with maximum m:
// element j draws stochastic_random24(seed, stream, first_index + j, stochastic_bits); floor_of[top
// 16 bits of |x| / m] is the largest magnitude index at most the bucket's first float. Returns how
// many it rounded; the caller rounds the rest.
size_t dt8_stochastic(const uint8_t* floor_of, const float* magnitudes, const float* in, size_t n,
                      float m, uint64_t seed, uint64_t stream, uint64_t first_index,
                      int stochastic_bits, float* out);

// dt8_nearest for one value (the kernel's tail, and scopes that are not contiguous).
inline float dt8_nearest_one(const int32_t* words, const float* magnitudes, float x, float m) {
  const float v = std::fabs(x) / m;
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const int32_t e = words[bits >> 16];
  const int index = int32_t(bits & 0xffff) >= (e & 0xffff) ? (e >> 24) & 0xff : (e >> 16) & 0xff;
  return std::copysign(magnitudes[index] * m, x);
}

}  // namespace swalp::detail
