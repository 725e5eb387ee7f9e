// dt8 nearest rounding, one Highway source compiled for every SIMD target: a vector pass for
// the normalized magnitudes and their bucket keys, scalar loads of the bucket words, and a
// vector pass that picks the magnitude index, gathers the magnitude and scales it back.
// Oracle: the dt8 case of quantize_reference (core/src/ref).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/dt8_kernels.cpp"
#include "cpu/dt8_kernels.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>

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

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace swalp::detail {

HWY_EXPORT(Dt8NearestImpl);

void dt8_nearest(const int32_t* words, const float* magnitudes, const float* in, size_t n, float m,
                 float* out) {
  HWY_DYNAMIC_DISPATCH(Dt8NearestImpl)(words, magnitudes, in, n, m, out);
}

}  // namespace swalp::detail
#endif
