// Posit rounding on one vector (Highway -inl.h, included once per target by
// quantize_kernels.cpp). The oracle is quantize_posit_scalar in ref/scalar_rounding.h; this is
// the same rule in 32-bit integer lanes: for |x| = 2^(k 2^ES) * 2^m * (1 + f), the encoding
// after the regime is t = m.f (ES + 23 bits), of which n - 1 - regime_bits are kept. Rounding t
// to that many bits and adding it to the float32 exponent field of 2^(k 2^ES) gives the result's
// float32 bits, a carry out of t moving into the next regime by itself.
#if defined(SWALP_CPU_POSIT_OPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SWALP_CPU_POSIT_OPS_INL_H_
#undef SWALP_CPU_POSIT_OPS_INL_H_
#else
#define SWALP_CPU_POSIT_OPS_INL_H_
#endif

#include <hwy/highway.h>

#include "cpu/kernel_params.h"
#include "cpu/quantize_ops-inl.h"  // DF, DI, VF, VI, kMaxLanes
#include "ref/scalar_rounding.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

struct PositVecs {
  int n, es;
  VI maxpos_bits, minpos_bits;
};

HWY_INLINE PositVecs BroadcastPosit(int n, int es) {
  const DI di;
  const int scale_max = (n - 2) * (1 << es);
  return {n, es, hn::Set(di, (127 + scale_max) << 23), hn::Set(di, (127 - scale_max) << 23)};
}

// The lanes the vector rule does not cover (stochastic rounding across a binade, or below
// minpos) are rounded by the oracle's scalar rule, lane by lane: rare in practice.
template <Rounding R>
HWY_INLINE VF QuantizePositVec(DF df, VF v, VI random24, const PositVecs& c) {
  const DI di;
  using DU = hn::RebindToUnsigned<DI>;
  const DU du;
  const VI bits = hn::BitCast(di, v);
  const VI abs_bits = hn::And(bits, hn::Set(di, 0x7fffffff));
  const VI sign = hn::AndNot(hn::Set(di, 0x7fffffff), bits);
  const auto negative = hn::Lt(bits, hn::Zero(di));
  const VI e = hn::Sub(hn::ShiftRight<23>(abs_bits), hn::Set(di, 127));
  const VI k = hn::ShiftRightSame(e, c.es);  // arithmetic: floor(e / 2^ES)
  const VI k_scaled = hn::BitCast(di, hn::ShiftLeftSame(hn::BitCast(du, k), c.es));
  const VI m = hn::Sub(e, k_scaled);
  const auto k_nonnegative = hn::Gt(k, hn::Set(di, -1));
  const VI regime_bits =
      hn::IfThenElse(k_nonnegative, hn::Add(k, hn::Set(di, 2)), hn::Sub(hn::Set(di, 1), k));
  const VI kept = hn::Sub(hn::Set(di, c.n - 1), regime_bits);
  const VI t = hn::Or(hn::ShiftLeft<23>(m), hn::And(abs_bits, hn::Set(di, 0x7fffff)));
  // Clamped so that lanes outside [minpos, maxpos) (selected away below) shift by < 32.
  const VI dropped =
      hn::Min(hn::Max(hn::Sub(hn::Set(di, c.es + 23), kept), hn::Zero(di)), hn::Set(di, 31));
  const VI step = hn::BitCast(di, hn::Set(du, 1u) << hn::BitCast(du, dropped));
  const VI low_mask = hn::Sub(step, hn::Set(di, 1));
  const VI rem = hn::And(t, low_mask);
  const VI lo_t = hn::AndNot(low_mask, t);
  const auto inexact = hn::Gt(rem, hn::Zero(di));
  auto scalar_lanes = hn::FirstN(df, 0);  // none yet
  hn::Mask<DI> up;
  if constexpr (R == Rounding::kNearest) {
    const VI half = hn::ShiftRight<1>(step);
    // The code's last bit: bit `dropped` of t, or the regime's end (1 for k < 0) when no
    // exponent or fraction bit is kept.
    const auto odd = hn::IfThenElse(hn::Gt(kept, hn::Zero(di)),
                                    hn::VecFromMask(di, hn::Ne(hn::And(t, step), hn::Zero(di))),
                                    hn::VecFromMask(di, hn::Not(k_nonnegative)));
    up = hn::Or(hn::Gt(rem, half),
                hn::And(hn::And(hn::Eq(rem, half), inexact), hn::Ne(odd, hn::Zero(di))));
  } else if constexpr (R == Rounding::kZero) {
    up = hn::Lt(rem, hn::Zero(di));  // never
  } else if constexpr (R == Rounding::kUp) {
    up = hn::AndNot(negative, inexact);
  } else if constexpr (R == Rounding::kDown) {
    up = hn::And(negative, inexact);
  } else {
    // u < 2^24 rem / step on integers while step <= 2^23 (one binade); wider steps: scalar.
    const VI shift = hn::Max(hn::Sub(hn::Set(di, 24), dropped), hn::Zero(di));
    const VI scaled_rem = hn::BitCast(di, hn::BitCast(du, rem) << hn::BitCast(du, shift));
    up = hn::Gt(scaled_rem, random24);
    scalar_lanes = hn::RebindMask(df, hn::And(inexact, hn::Gt(dropped, hn::Set(di, 23))));
  }
  const VI t_rounded = hn::Add(lo_t, hn::IfThenElseZero(up, step));
  const VI regime_exponent = hn::ShiftLeft<23>(hn::Add(k_scaled, hn::Set(di, 127)));
  VI y = hn::Add(regime_exponent, t_rounded);
  // Magnitudes outside [minpos, maxpos): maxpos above; below, per mode (stochastic: scalar).
  y = hn::IfThenElse(hn::Gt(abs_bits, hn::Sub(c.maxpos_bits, hn::Set(di, 1))), c.maxpos_bits, y);
  const auto is_zero = hn::Eq(abs_bits, hn::Zero(di));
  const auto tiny = hn::AndNot(is_zero, hn::Lt(abs_bits, c.minpos_bits));
  VI tiny_result = c.minpos_bits;
  if constexpr (R == Rounding::kZero) tiny_result = hn::Zero(di);
  if constexpr (R == Rounding::kUp) tiny_result = hn::IfThenZeroElse(negative, c.minpos_bits);
  if constexpr (R == Rounding::kDown) tiny_result = hn::IfThenElseZero(negative, c.minpos_bits);
  if constexpr (R == Rounding::kStochastic)
    scalar_lanes = hn::Or(scalar_lanes, hn::RebindMask(df, tiny));
  y = hn::IfThenElse(tiny, tiny_result, y);
  // The one zero has no sign; NaN and Inf are NaR.
  y = hn::IfThenZeroElse(is_zero, y);
  y = hn::IfThenElse(hn::Eq(y, hn::Zero(di)), y, hn::Or(y, sign));
  y = hn::IfThenElse(hn::Gt(abs_bits, hn::Set(di, 0x7f7fffff)), hn::Set(di, 0x7fc00000), y);
  VF result = hn::BitCast(df, y);
  if (R == Rounding::kStochastic && HWY_UNLIKELY(!hn::AllFalse(df, scalar_lanes))) {
    HWY_ALIGN float lanes_in[kMaxLanes], lanes_out[kMaxLanes];
    HWY_ALIGN int32_t lanes_random[kMaxLanes];
    hn::Store(v, df, lanes_in);
    hn::Store(result, df, lanes_out);
    hn::Store(random24, di, lanes_random);
    for (size_t i = 0; i < hn::Lanes(df); ++i)
      lanes_out[i] =
          float(quantize_posit_scalar(c.n, c.es, lanes_in[i], R, uint32_t(lanes_random[i]) << 8));
    result = hn::Load(df, lanes_out);
  }
  return result;
}

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
