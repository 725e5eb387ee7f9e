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

#include "ref/scalar_rounding.h"
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
HWY_INLINE void FillStochasticRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count,
                                       int stochastic_bits, int32_t* out, const float* = nullptr,
                                       const float* = nullptr) {
  for (size_t j = 0; j < count; ++j)
    out[j] = static_cast<int32_t>(stochastic_random24(seed, stream, first + j, stochastic_bits));
}
// The vector targets' StochasticUnits, one element at a time.
class StochasticUnits {
 public:
  void Fill(uint64_t seed, uint64_t stream, size_t first, size_t count, int stochastic_bits,
            const float* = nullptr, const float* = nullptr) {
    random_.resize(count);
    FillStochasticRandom24(seed, stream, first, count, stochastic_bits, random_.data());
  }
  HWY_INLINE hn::Vec<hn::RebindToSigned<DU>> Load(size_t j) const {
    return hn::LoadU(hn::RebindToSigned<DU>(), random_.data() + j);
  }
  int32_t At(size_t j) const { return random_[j]; }

 private:
  std::vector<int32_t> random_;
};
#else
using DU64 = hn::Repartition<uint64_t, DU>;

// The high 32-bit half of each 64-bit lane in its low half (the high half: anything). A
// shuffle rather than a shift: on AVX-512 cores shifts share port 0 with the multiplies.
HWY_INLINE hn::Vec<DU64> HighToLow(hn::Vec<DU64> v) {
  return hn::BitCast(DU64(), hn::Shuffle2301(hn::BitCast(DU(), v)));
}

// Philox4x32-10 on one block per 64-bit lane, kGroup independent vectors at a time so that the
// multiply latency of one round overlaps the others (rng.h is the scalar definition). Each
// counter word lives in the low half of its lane: MulEven reads only the low halves and returns
// the whole 64-bit product, so a round is two multiplies, two shuffles (the high words) and two
// three-way xors, with no blends; the high halves carry garbage that nothing reads.
template <int kGroup>
HWY_INLINE void PhiloxBlocks(hn::Vec<DU64>* c0, hn::Vec<DU64>* c1, hn::Vec<DU64>* c2,
                             hn::Vec<DU64>* c3, PhiloxKey key) {
  const DU du;
  const DU64 d64;
  const auto m0 = hn::Set(du, 0xD2511F53u), m1 = hn::Set(du, 0xCD9E8D57u);
  for (int round = 0; round < 10; ++round) {
    // Round keys: the seed plus `round` Weyl increments.
    const auto k0 = hn::Set(d64, uint32_t(key.k0 + uint32_t(round) * 0x9E3779B9u));
    const auto k1 = hn::Set(d64, uint32_t(key.k1 + uint32_t(round) * 0xBB67AE85u));
    for (int g = 0; g < kGroup; ++g) {
      const auto product0 = hn::MulEven(hn::BitCast(du, c0[g]), m0);
      const auto product1 = hn::MulEven(hn::BitCast(du, c2[g]), m1);
      c0[g] = hn::Xor3(HighToLow(product1), c1[g], k0);
      c1[g] = product1;
      c2[g] = hn::Xor3(HighToLow(product0), c3[g], k1);
      c3[g] = product0;
    }
  }
}

// kGroup vectors of consecutive blocks starting at `block` (no wrap of the low counter word),
// written as 4 words per block in block order.
template <int kGroup, int kShift>
HWY_INLINE void FillBlockGroup(uint64_t block, uint64_t stream, PhiloxKey key, uint32_t* dst) {
  const DU du;
  const DU64 d64;
  const size_t lanes = hn::Lanes(d64);
  hn::Vec<DU64> c0[kGroup], c1[kGroup], c2[kGroup], c3[kGroup];
  for (int g = 0; g < kGroup; ++g) {
    c0[g] = hn::Add(hn::Set(d64, uint32_t(block + g * lanes)), hn::Iota(d64, 0));
    c1[g] = hn::Set(d64, uint32_t(block >> 32));
    c2[g] = hn::Set(d64, uint32_t(stream));
    c3[g] = hn::Set(d64, uint32_t(stream >> 32));
  }
  PhiloxBlocks<kGroup>(c0, c1, c2, c3, key);
  for (int g = 0; g < kGroup; ++g) {
    // Words 0 and 1 of each block in one 64-bit lane, words 2 and 3 in another; interleaving
    // the two vectors' lanes puts the blocks' four words in order.
    const auto w01 = hn::OddEven(hn::BitCast(du, hn::ShiftLeft<32>(c1[g])), hn::BitCast(du, c0[g]));
    const auto w23 = hn::OddEven(hn::BitCast(du, hn::ShiftLeft<32>(c3[g])), hn::BitCast(du, c2[g]));
    hn::StoreInterleaved2(hn::BitCast(d64, hn::ShiftRight<kShift>(w01)),
                          hn::BitCast(d64, hn::ShiftRight<kShift>(w23)), d64,
                          reinterpret_cast<uint64_t*>(dst + 4 * g * lanes));
  }
}

// Writes 4 words (shifted right by kShift) per block for blocks [first_block, end_block), whole
// vectors. Optionally prefetches the cache lines of the elements each step covers in
// `prefetch_in` and `prefetch_out` (element e of word w: per_word * w + e; a null prefetch_out:
// the input only), spreading the requests over the computation.
template <int kShift = 8>
HWY_INLINE void FillBlocks(uint64_t first_block, uint64_t end_block, uint64_t stream, PhiloxKey key,
                           uint32_t* words, const float* prefetch_in = nullptr,
                           const float* prefetch_out = nullptr, size_t per_word = 1) {
  const size_t lanes = hn::Lanes(DU64());      // blocks per vector
  const auto prefetch = [&](uint64_t block) {  // the elements of a vector of blocks
    if (!prefetch_in) return;
    const size_t element = 4 * per_word * (block - first_block);
    for (size_t e = 0; e < 4 * per_word * lanes; e += 16) {
      hwy::Prefetch(prefetch_in + element + e);
      if (prefetch_out) hwy::Prefetch(prefetch_out + element + e);
    }
  };
  for (uint64_t block = first_block; block < end_block; block += lanes) {
    uint32_t* dst = words + 4 * (block - first_block);
    prefetch(block);
    if ((block & 0xffffffffu) + lanes > 0x100000000ull) {  // low counter word wraps: scalar
      for (size_t j = 0; j < lanes; ++j) {
        const uint64_t b = block + j;
        const auto w = philox4x32_10(
            {uint32_t(b), uint32_t(b >> 32), uint32_t(stream), uint32_t(stream >> 32)}, key);
        for (int k = 0; k < 4; ++k) dst[4 * j + k] = w[k] >> kShift;
      }
      continue;
    }
    // Four independent vectors hide the multiply-shuffle-xor latency of a round: with two, the
    // stochastic matmul measured 13% slower on an AVX-512 AMD core (bench matmul, 1 thread).
    constexpr int kGroup = 4;
    if (block + kGroup * lanes <= end_block &&
        (block & 0xffffffffu) + kGroup * lanes <= 0x100000000ull) {
      FillBlockGroup<kGroup, kShift>(block, stream, key, dst);
      for (int g = 1; g < kGroup; ++g) prefetch(block + g * lanes);
      block += (kGroup - 1) * lanes;
    } else {
      FillBlockGroup<1, kShift>(block, stream, key, dst);
    }
  }
}

// Top 24 bits of philox_bits(seed, stream, first + j) for j < count, one Philox block per lane.
HWY_INLINE void FillRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count,
                             int32_t* out, const float* prefetch_in = nullptr,
                             const float* prefetch_out = nullptr) {
  const size_t lanes = hn::Lanes(DU64());  // blocks per vector
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

// The random bits of a run of elements under stochastic:R (scalar_rounding.h's
// stochastic_random24): the run's Philox words are filled once; each element's 24 compared bits
// are read from its unit (word, half or byte: little-endian memory order is the low-end-first
// order of random24_from_word) when the kernel needs them, so for R <= 16 one block serves 8
// or 16 elements and no widened copy goes through memory.
class StochasticUnits {
 public:
  void Fill(uint64_t seed, uint64_t stream, size_t first, size_t count, int stochastic_bits,
            const float* prefetch_in = nullptr, const float* prefetch_out = nullptr) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "halves and bytes in memory order");
    const DU du;
    const size_t lanes = hn::Lanes(du);
    r_ = stochastic_bits;
    per_word_ = size_t(random_elements_per_word(r_));
    mask_ = random24_mask(r_);
    const uint32_t unit_bits = 32 / uint32_t(per_word_);  // keep_: the unit's top R bits
    keep_ = per_word_ == 1 ? 0 : ~((1u << (unit_bits - uint32_t(r_))) - 1u) & 0xffffu;
    first_ = first;
    const PhiloxKey key{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    if (per_word_ == 1) {  // top 24 bits of each word, as plain stochastic
      words_.resize(count + lanes);
      FillRandom24(seed, stream, first, count, reinterpret_cast<int32_t*>(words_.data()),
                   prefetch_in, prefetch_out);
      skip_ = 0;
      return;
    }
    const uint64_t first_block = (first / per_word_) >> 2;
    const uint64_t end_block = ((first + count + per_word_ - 1) / per_word_ + 3) >> 2;
    words_.resize(4 * (end_block - first_block + lanes));
    FillBlocks<0>(first_block, end_block, stream, key, words_.data(), prefetch_in, prefetch_out,
                  per_word_);
    skip_ = size_t(first - 4 * per_word_ * first_block);  // units before `first`
  }

  // The 24 compared bits of elements j .. j + lanes - 1 of the run.
  HWY_INLINE hn::Vec<hn::RebindToSigned<DU>> Load(size_t j) const {
    const DU du;
    const hn::RebindToSigned<DU> di;
    if (per_word_ == 1)  // the words hold their top 24 bits
      return hn::BitCast(di, hn::Or(hn::LoadU(du, words_.data() + j), hn::Set(du, mask_)));
    hn::Vec<DU> unit;
    int up;  // moves the unit's top bit to bit 23
    if (per_word_ == 2) {
      const hn::Rebind<uint16_t, DU> d16;
      unit = hn::PromoteTo(du, hn::LoadU(d16, Units<uint16_t>() + j));
      up = 8;
    } else {
      const hn::Rebind<uint8_t, DU> d8;
      unit = hn::PromoteTo(du, hn::LoadU(d8, Units<uint8_t>() + j));
      up = 16;
    }
    const auto kept = hn::ShiftLeftSame(hn::And(unit, hn::Set(du, keep_)), up);
    return hn::BitCast(di, hn::Or(kept, hn::Set(du, mask_)));
  }

  // The same for one element.
  int32_t At(size_t j) const {
    if (per_word_ == 1) return int32_t(words_[j] | mask_);
    const uint64_t index = first_ + j;
    const size_t word = (skip_ + j) / per_word_;
    return int32_t(random24_from_word(words_[word], index, r_));
  }

  void Write(size_t count, int32_t* out) const {
    const size_t lanes = hn::Lanes(DU());
    size_t j = 0;
    for (; j + lanes <= count; j += lanes) hn::StoreU(Load(j), hn::RebindToSigned<DU>(), out + j);
    for (; j < count; ++j) out[j] = At(j);
  }

 private:
  template <typename T>
  const T* Units() const {
    return reinterpret_cast<const T*>(words_.data()) + skip_;
  }
  std::vector<uint32_t> words_;
  size_t per_word_ = 1, skip_ = 0, first_ = 0;
  int r_ = 24;
  uint32_t mask_ = 0, keep_ = 0;
};

// stochastic_random24(seed, stream, first + j, stochastic_bits) for j < count.
HWY_INLINE void FillStochasticRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count,
                                       int stochastic_bits, int32_t* out,
                                       const float* prefetch_in = nullptr,
                                       const float* prefetch_out = nullptr) {
  if (stochastic_bits == 24) {  // plain stochastic: the words' top 24 bits, straight to `out`
    FillRandom24(seed, stream, first, count, out, prefetch_in, prefetch_out);
    return;
  }
  thread_local StochasticUnits units;
  units.Fill(seed, stream, first, count, stochastic_bits, prefetch_in, prefetch_out);
  units.Write(count, out);
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#endif  // SWALP_CPU_PHILOX_FILL_INL_H_
