// Fast codec encoders: one Highway source compiled for every SIMD target, dispatched per call.
// Nearest rounding is one table gather per vector (the bucket's code pair and threshold);
// stochastic rounding fills Philox bits per vector and steps one neighbour from the bucket.
// Oracle: encode_reference in core/src/codec.cpp.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/codec_kernels.cpp"
#include "cpu/codec_kernels.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "cpu/philox_fill-inl.h"
#include "cpu/table_lookup.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using CF = hn::ScalableTag<float>;
using CI = hn::RebindToSigned<CF>;

uint32_t AbsBitsMaxImpl(const float* in, size_t n) {
  const CI di;
  const size_t lanes = hn::Lanes(di);
  const auto magnitude_mask = hn::Set(di, 0x7fffffff);
  // Non-negative float bit patterns order like the floats; NaNs order above +Inf.
  auto best = hn::Zero(di);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    best = hn::Max(
        best, hn::And(hn::LoadU(di, reinterpret_cast<const int32_t*>(in + i)), magnitude_mask));
  uint32_t result = uint32_t(hn::GetLane(hn::MaxOfLanes(di, best)));
  for (; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, in + i, sizeof bits);
    result = std::max(result, bits & 0x7fffffffu);
  }
  return result;
}

// The table lookup of one element, the same steps as the vector loop below.
HWY_INLINE uint8_t NearestCode(const int32_t* table, float x, float inverse) {
  const float v = std::max(std::min(x * inverse, 1.0f), -1.0f);
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const int32_t entry = table[bits >> 16];
  return uint8_t(int32_t(bits & 0xffff) >= (entry & 0xffff) ? (entry >> 24) & 0xff
                                                            : (entry >> 16) & 0xff);
}

void EncodeNearestImpl(const Codec& c, const float* in, size_t n, float inverse, uint8_t* out) {
  const CF df;
  const CI di;
  const hn::RebindToUnsigned<CF> du;
  const hn::Rebind<uint8_t, CI> d8;
  const size_t lanes = hn::Lanes(df);
  const auto scale = hn::Set(df, inverse), one = hn::Set(df, 1.0f), minus_one = hn::Set(df, -1.0f);
  const auto low16 = hn::Set(di, 0xffff), low_byte = hn::Set(di, 0xff);
  const int32_t* table = c.nearest.data();
  // v = x / scale clamped to [-1, 1] (the product's rounding can pass 1): its top 16 bits,
  // sign included, pick the table word.
  const auto scaled = [&](size_t at) HWY_ATTR {
    return hn::BitCast(di,
                       hn::Max(hn::Min(hn::Mul(hn::LoadU(df, in + at), scale), one), minus_one));
  };
  // Three passes over runs that stay in L1: the table keys, scalar table loads, the codes.
  constexpr size_t kRun = 512;
  HWY_ALIGN int32_t keys[kRun];
  HWY_ALIGN int32_t entries[kRun];
  size_t i = 0;
  while (i + lanes <= n) {
    const size_t run = std::min(kRun, (n - i) / lanes * lanes);
    for (size_t j = 0; j < run; j += lanes)
      hn::Store(hn::BitCast(di, hn::ShiftRight<16>(hn::BitCast(du, scaled(i + j)))), di, keys + j);
    LookupEntries(table, keys, entries, run);
    for (size_t j = 0; j < run; j += lanes) {
      const auto v = scaled(i + j);
      const auto entry = hn::Load(di, entries + j);
      const auto below = hn::Lt(hn::And(v, low16), hn::And(entry, low16));
      const auto code = hn::IfThenElse(below, hn::And(hn::ShiftRight<16>(entry), low_byte),
                                       hn::And(hn::ShiftRight<24>(entry), low_byte));
      hn::StoreU(hn::DemoteTo(d8, code), d8, out + i + j);
    }
    i += run;
  }
  for (; i < n; ++i) out[i] = NearestCode(table, in[i], inverse);
}

void FillRandom24Impl(uint64_t seed, uint64_t stream, size_t first_index, size_t count,
                      int stochastic_bits, int32_t* out) {
  FillStochasticRandom24(seed, stream, first_index, count, stochastic_bits, out);
}

void EncodeStochasticImpl(const Codec& c, const float* in, size_t n, size_t first_index,
                          float inverse, uint64_t seed, uint64_t stream, uint8_t* out) {
  constexpr size_t kPiece = 1024;
  HWY_ALIGN int32_t random24[kPiece];
  const float* m = c.magnitudes.data();
  const size_t last = c.magnitudes.size() - 1;
  for (size_t begin = 0; begin < n; begin += kPiece) {
    const size_t count = std::min(kPiece, n - begin);
    FillRandom24(seed, stream, first_index + begin, count, random24);
    for (size_t j = 0; j < count; ++j) {
      const float x = in[begin + j];
      const float v = std::min(std::abs(x) * inverse, 1.0f);
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      size_t lo = c.bucket_start[bits >> 16];
      if (lo < last && m[lo + 1] <= v) ++lo;  // at most one magnitude inside a bucket
      const size_t pick = round_between(m, lo, last, v, true, uint32_t(random24[j]));
      out[begin + j] = uint8_t(c.codes[pick] | (std::signbit(x) && pick > 0 ? 0x80 : 0));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace swalp::detail {

HWY_EXPORT(AbsBitsMaxImpl);
HWY_EXPORT(EncodeNearestImpl);
HWY_EXPORT(EncodeStochasticImpl);
HWY_EXPORT(FillRandom24Impl);

void fill_random24(uint64_t seed, uint64_t stream, size_t first_index, size_t count,
                   int stochastic_bits, int32_t* out) {
  HWY_DYNAMIC_DISPATCH(FillRandom24Impl)(seed, stream, first_index, count, stochastic_bits, out);
}

uint32_t abs_bits_max(const float* in, size_t n) {
  return HWY_DYNAMIC_DISPATCH(AbsBitsMaxImpl)(in, n);
}
void encode_nearest(const Codec& c, const float* in, size_t n, float inverse, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(EncodeNearestImpl)(c, in, n, inverse, out);
}
void encode_stochastic(const Codec& c, const float* in, size_t n, size_t first_index, float inverse,
                       uint64_t seed, uint64_t stream, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(EncodeStochasticImpl)(c, in, n, first_index, inverse, seed, stream, out);
}

}  // namespace swalp::detail
#endif
