// Per-target Philox4x32-10 fill of random bits (Highway -inl.h: included once per target by
// quantize_kernels.cpp). rng.h is the scalar definition and the oracle in tests.
#if defined(SWALP_CPU_PHILOX_FILL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SWALP_CPU_PHILOX_FILL_INL_H_
#undef SWALP_CPU_PHILOX_FILL_INL_H_
#else
#define SWALP_CPU_PHILOX_FILL_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <cstring>
#include <vector>

#include "swalp/rng.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DU = hn::ScalableTag<uint32_t>;

#if HWY_TARGET == HWY_SCALAR
// One lane: no 64-bit repartition; the scalar definition is the kernel.
HWY_INLINE void FillRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count,
                             int32_t* out, const float* = nullptr, const float* = nullptr) {
  for (size_t j = 0; j < count; ++j)
    out[j] = static_cast<int32_t>(philox_bits(seed, stream, first + j) >> 8);
}
#else
// 32x32 -> 64-bit products of every lane with m: low and high 32-bit halves.
HWY_INLINE void MulHiLo(hn::Vec<DU> a, hn::Vec<DU> m, hn::Vec<DU>& hi, hn::Vec<DU>& lo) {
  const DU du;
  // MulEven multiplies the even lanes; swapping lane pairs brings the odd lanes there. Blends of
  // lane-swapped products are cheaper than a 32-bit low multiply and 64-bit shifts.
  const auto even = hn::BitCast(du, hn::MulEven(a, m));
  const auto odd = hn::BitCast(du, hn::MulEven(hn::Shuffle2301(a), m));
  hi = hn::OddEven(odd, hn::Shuffle2301(even));
  lo = hn::OddEven(hn::Shuffle2301(odd), even);
}

// Philox4x32-10 on one block per lane, kGroup independent vectors at a time so that the
// multiply latency of one round overlaps the others (rng.h is the scalar definition).
template <int kGroup>
HWY_INLINE void PhiloxBlocks(hn::Vec<DU>* c0, hn::Vec<DU>* c1, hn::Vec<DU>* c2, hn::Vec<DU>* c3,
                             PhiloxKey key) {
  const DU du;
  const auto m0 = hn::Set(du, 0xD2511F53u), m1 = hn::Set(du, 0xCD9E8D57u);
  for (int round = 0; round < 10; ++round) {
    // Round keys: the seed plus `round` Weyl increments.
    const auto k0 = hn::Set(du, key.k0 + uint32_t(round) * 0x9E3779B9u);
    const auto k1 = hn::Set(du, key.k1 + uint32_t(round) * 0xBB67AE85u);
    for (int g = 0; g < kGroup; ++g) {
      hn::Vec<DU> hi0, lo0, hi1, lo1;
      MulHiLo(c0[g], m0, hi0, lo0);
      MulHiLo(c2[g], m1, hi1, lo1);
      c0[g] = hn::Xor(hn::Xor(hi1, c1[g]), k0);
      c1[g] = lo1;
      c2[g] = hn::Xor(hn::Xor(hi0, c3[g]), k1);
      c3[g] = lo0;
    }
  }
}

// kGroup vectors of consecutive blocks starting at `block` (no wrap of the low counter word).
template <int kGroup>
HWY_INLINE void FillBlockGroup(uint64_t block, uint64_t stream, PhiloxKey key, uint32_t* dst) {
  const DU du;
  const size_t lanes = hn::Lanes(du);
  hn::Vec<DU> c0[kGroup], c1[kGroup], c2[kGroup], c3[kGroup];
  for (int g = 0; g < kGroup; ++g) {
    c0[g] = hn::Add(hn::Set(du, static_cast<uint32_t>(block + g * lanes)), hn::Iota(du, 0));
    c1[g] = hn::Set(du, static_cast<uint32_t>(block >> 32));
    c2[g] = hn::Set(du, static_cast<uint32_t>(stream));
    c3[g] = hn::Set(du, static_cast<uint32_t>(stream >> 32));
  }
  PhiloxBlocks<kGroup>(c0, c1, c2, c3, key);
  for (int g = 0; g < kGroup; ++g)
    hn::StoreInterleaved4(hn::ShiftRight<8>(c0[g]), hn::ShiftRight<8>(c1[g]),
                          hn::ShiftRight<8>(c2[g]), hn::ShiftRight<8>(c3[g]), du,
                          dst + 4 * g * lanes);
}

// Writes 4 words (top 24 bits each) per block for blocks [first_block, end_block), whole vectors.
// Optionally prefetches the cache lines of the elements each step covers in `prefetch_in` and
// `prefetch_out` (indexed like `words`), spreading the requests over the computation.
HWY_INLINE void FillBlocks(uint64_t first_block, uint64_t end_block, uint64_t stream, PhiloxKey key,
                           uint32_t* words, const float* prefetch_in = nullptr,
                           const float* prefetch_out = nullptr) {
  const DU du;
  const size_t lanes = hn::Lanes(du);
  for (uint64_t block = first_block; block < end_block; block += lanes) {
    uint32_t* dst = words + 4 * (block - first_block);
    if (prefetch_in) {
      const size_t element = 4 * (block - first_block);
      for (size_t e = 0; e < 4 * lanes; e += 16) {
        hwy::Prefetch(prefetch_in + element + e);
        hwy::Prefetch(prefetch_out + element + e);
      }
    }
    if ((block & 0xffffffffu) + lanes > 0x100000000ull) {  // low counter word wraps: scalar
      for (size_t j = 0; j < lanes; ++j) {
        const uint64_t b = block + j;
        const auto w = philox4x32_10(
            {uint32_t(b), uint32_t(b >> 32), uint32_t(stream), uint32_t(stream >> 32)}, key);
        for (int k = 0; k < 4; ++k) dst[4 * j + k] = w[k] >> 8;
      }
      continue;
    }
    constexpr int kGroup = 2;
    if (block + kGroup * lanes <= end_block &&
        (block & 0xffffffffu) + kGroup * lanes <= 0x100000000ull) {
      FillBlockGroup<kGroup>(block, stream, key, dst);
      block += (kGroup - 1) * lanes;
      if (prefetch_in) {
        const size_t element = 4 * (block - first_block);
        for (size_t e = 0; e < 4 * lanes; e += 16) {
          hwy::Prefetch(prefetch_in + element + e);
          hwy::Prefetch(prefetch_out + element + e);
        }
      }
    } else {
      FillBlockGroup<1>(block, stream, key, dst);
    }
  }
}

// Top 24 bits of philox_bits(seed, stream, first + j) for j < count, one Philox block per lane.
HWY_INLINE void FillRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count,
                             int32_t* out, const float* prefetch_in = nullptr,
                             const float* prefetch_out = nullptr) {
  const DU du;
  const size_t lanes = hn::Lanes(du);
  const PhiloxKey key{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  const uint64_t first_block = first >> 2, end_block = (first + count + 3) >> 2;
  // Whole vectors of blocks go straight to `out` when it starts on a block; the rest through
  // a scratch buffer.
  thread_local std::vector<uint32_t> scratch;
  const bool direct = (first & 3) == 0;
  const uint64_t direct_end = direct ? first_block + ((count / 4) / lanes) * lanes : first_block;
  if (direct_end > first_block) {
    FillBlocks(first_block, direct_end, stream, key, reinterpret_cast<uint32_t*>(out), prefetch_in,
               prefetch_out);
    if (direct_end * 4 >= first + count) return;
  }
  scratch.resize(4 * (end_block - direct_end + lanes));
  FillBlocks(direct_end, end_block, stream, key, scratch.data());
  const size_t done = 4 * (direct_end - first_block);
  std::memcpy(out + done, scratch.data() + (direct ? 0 : (first & 3)),
              (count - done) * sizeof(int32_t));
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#endif  // SWALP_CPU_PHILOX_FILL_INL_H_
