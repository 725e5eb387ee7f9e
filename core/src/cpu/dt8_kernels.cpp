// dt8 quantizer kernels, one Highway source compiled for every SIMD target. Nearest: a vector
// pass for the normalized magnitudes and their bucket keys, scalar loads of the bucket words,
// and a vector pass that picks the magnitude index, gathers the magnitude and scales it back.
// Stochastic: the lower neighbours per element, then the decision in double per lane.
// Oracle: the dt8 case of quantize_reference (core/src/ref).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/dt8_kernels.cpp"
#include "cpu/dt8_kernels.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/philox_fill-inl.h"
#include "cpu/table_lookup.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void Dt8NearestImpl(const int32_t* words, const float* magnitudes, const float* in, size_t n,
                    float m, float* out) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t lanes = hn::Lanes(df);
  const auto scale = hn::Set(df, m);
  const auto low16 = hn::Set(di, 0xffff), low_byte = hn::Set(di, 0xff);
  // Runs that stay in L1: normalized magnitudes (one division each) and keys, the bucket
  // words, then the values.
  constexpr size_t kRun = 512;
  HWY_ALIGN float normalized[kRun];
  HWY_ALIGN int32_t keys[kRun];
  HWY_ALIGN int32_t entries[kRun];
  size_t i = 0;
  while (i + lanes <= n) {
    const size_t run = std::min(kRun, (n - i) / lanes * lanes);
    for (size_t j = 0; j < run; j += lanes) {
      const auto v = hn::Div(hn::Abs(hn::LoadU(df, in + i + j)), scale);
      hn::Store(v, df, normalized + j);
      hn::Store(hn::ShiftRight<16>(hn::BitCast(di, v)), di, keys + j);
    }
    LookupEntries(words, keys, entries, run);
    for (size_t j = 0; j < run; j += lanes) {
      const auto x = hn::LoadU(df, in + i + j);
      const auto e = hn::Load(di, entries + j);
      const auto v_bits = hn::BitCast(di, hn::Load(df, normalized + j));
      const auto below = hn::Lt(hn::And(v_bits, low16), hn::And(e, low16));
      const auto index = hn::IfThenElse(below, hn::And(hn::ShiftRight<16>(e), low_byte),
                                        hn::And(hn::ShiftRight<24>(e), low_byte));
      const auto value = hn::Mul(hn::GatherIndex(df, magnitudes, index), scale);
      hn::StoreU(hn::CopySign(value, x), df, out + i + j);
    }
    i += run;
  }
  for (; i < n; ++i) out[i] = dt8_nearest_one(words, magnitudes, in[i], m);
}

// Stochastic rounding with the scalar rounder's arithmetic per lane: neighbours found per
// element (a bucket's floor index and at most a few steps, scalar), then in double, four lanes
// at a time, up iff random24 < (v - lo) / ((v - lo) + (hi - v)) * 2^24, unless v is a magnitude.
// Returns how many leading elements it rounded (whole vectors).
size_t Dt8StochasticImpl(const uint8_t* floor_of, const float* magnitudes, const float* in,
                         size_t n, float m, uint64_t seed, uint64_t stream, uint64_t first_index,
                         int stochastic_bits, float* out) {
#if HWY_TARGET == HWY_SCALAR
  (void)floor_of, (void)magnitudes, (void)in, (void)n, (void)m, (void)seed, (void)stream;
  (void)first_index, (void)stochastic_bits, (void)out;
  return 0;  // one lane has no halves to promote: the caller's scalar rounder does it all
#else
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Half<decltype(df)> dh;
  const hn::Half<decltype(di)> dih;
  const hn::Rebind<double, decltype(dh)> dd;
  const hn::Rebind<int32_t, decltype(dd)> dd32;
  const size_t lanes = hn::Lanes(df);
  const auto scale = hn::Set(df, m);
  const auto one = hn::Set(di, 1), last = hn::Set(di, 127);
  const auto two24 = hn::Set(dd, 16777216.0), unit = hn::Set(dd, 1.0);
  constexpr size_t kRun = 512;
  HWY_ALIGN float normalized[kRun];
  HWY_ALIGN int32_t lower[kRun];
  HWY_ALIGN int32_t random24[kRun];
  // Ups of one half of the lanes, as 0 or 1 in int32 lanes.
  const auto ups = [&](hn::Vec<decltype(dh)> v, hn::Vec<decltype(dh)> lo, hn::Vec<decltype(dh)> hi,
                       hn::Vec<decltype(dih)> random) HWY_ATTR {
    const auto vd = hn::PromoteTo(dd, v);
    const auto below = hn::Sub(vd, hn::PromoteTo(dd, lo));
    const auto above = hn::Sub(hn::PromoteTo(dd, hi), vd);
    const auto up =
        hn::Lt(hn::PromoteTo(dd, random), hn::Mul(hn::Div(below, hn::Add(below, above)), two24));
    return hn::DemoteTo(dd32, hn::IfThenElseZero(up, unit));
  };
  size_t i = 0;
  while (i + lanes <= n) {
    const size_t run = std::min(kRun, (n - i) / lanes * lanes);
    FillStochasticRandom24(seed, stream, first_index + i, run, stochastic_bits, random24);
    for (size_t j = 0; j < run; j += lanes)
      hn::Store(hn::Div(hn::Abs(hn::LoadU(df, in + i + j)), scale), df, normalized + j);
    for (size_t j = 0; j < run; ++j) {
      uint32_t bits;
      std::memcpy(&bits, normalized + j, sizeof bits);
      int32_t lo = floor_of[bits >> 16];
      // A bucket holds at most one magnitude: one branch-free step (a data-dependent branch
      // here mispredicts); the loop after it only guards that.
      lo += int32_t(lo < 127 && magnitudes[lo + 1] <= normalized[j]);
      while (lo < 127 && magnitudes[lo + 1] <= normalized[j]) ++lo;
      lower[j] = lo;
    }
    for (size_t j = 0; j < run; j += lanes) {
      const auto x = hn::LoadU(df, in + i + j);
      const auto v = hn::Load(df, normalized + j);
      const auto lo = hn::Load(di, lower + j);
      const auto m_lo = hn::GatherIndex(df, magnitudes, lo);
      const auto m_hi = hn::GatherIndex(df, magnitudes, hn::Min(hn::Add(lo, one), last));
      const auto random = hn::Load(di, random24 + j);
      const auto up = hn::Combine(di,
                                  ups(hn::UpperHalf(dh, v), hn::UpperHalf(dh, m_lo),
                                      hn::UpperHalf(dh, m_hi), hn::UpperHalf(dih, random)),
                                  ups(hn::LowerHalf(dh, v), hn::LowerHalf(dh, m_lo),
                                      hn::LowerHalf(dh, m_hi), hn::LowerHalf(dih, random)));
      // A magnitude itself, or the top one, stays.
      const auto stays = hn::Or(hn::RebindMask(di, hn::Eq(m_lo, v)), hn::Eq(lo, last));
      const auto pick = hn::Add(lo, hn::IfThenZeroElse(stays, up));
      const auto value = hn::Mul(hn::GatherIndex(df, magnitudes, pick), scale);
      hn::StoreU(hn::CopySign(value, x), df, out + i + j);
    }
    i += run;
  }
  return i;  // the caller rounds the rest (fewer than one vector)
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace swalp::detail {

HWY_EXPORT(Dt8NearestImpl);
HWY_EXPORT(Dt8StochasticImpl);

size_t dt8_stochastic(const uint8_t* floor_of, const float* magnitudes, const float* in, size_t n,
                      float m, uint64_t seed, uint64_t stream, uint64_t first_index,
                      int stochastic_bits, float* out) {
  return HWY_DYNAMIC_DISPATCH(Dt8StochasticImpl)(floor_of, magnitudes, in, n, m, seed, stream,
                                                 first_index, stochastic_bits, out);
}

void dt8_nearest(const int32_t* words, const float* magnitudes, const float* in, size_t n, float m,
                 float* out) {
  HWY_DYNAMIC_DISPATCH(Dt8NearestImpl)(words, magnitudes, in, n, m, out);
}

}  // namespace swalp::detail
#endif
