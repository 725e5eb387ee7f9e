// Counter-based random bits: Philox4x32-10 (Salmon et al., SC'11; the Random123 constants).
// The 32 random bits of element i are word (i % 4) of the Philox block with
//   counter = {i / 4 (low, high word), stream (low, high word)},  key = {seed (low, high word)},
// so they depend on (seed, stream, i) alone: thread count, SIMD width and chunking cannot
// change them, and a GPU implementation can reproduce them.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace swalp {

struct PhiloxKey {
  uint32_t k0, k1;
};

inline std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr, PhiloxKey key) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{kMul0} * ctr[0];
    const uint64_t p1 = uint64_t{kMul1} * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key.k0, static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key.k1, static_cast<uint32_t>(p0)};
    key.k0 += kWeyl0;
    key.k1 += kWeyl1;
  }
  return ctr;
}

// The 32 random bits of element `index` of stream `stream` under `seed`.
inline uint32_t philox_bits(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint64_t block = index >> 2;
  const auto words =
      philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                     static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)},
                    {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  return words[index & 3];
}

// A standard normal from elements `index` and `index + 1` (Box-Muller): the same value on every
// platform, for seeded synthetic data.
inline double philox_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  const double u1 = (double(philox_bits(seed, stream, index)) + 1.0) / 4294967296.0;
  const double u2 = double(philox_bits(seed, stream, index + 1)) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace swalp
