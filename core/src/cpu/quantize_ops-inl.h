// Per-target vector operations of the quantizers: rounding of magnitudes, the float, grid, MX
// and linear-code kernels on one vector, and the loop helpers (Highway -inl.h: included once per
// target by quantize_kernels.cpp). The scalar oracle is core/src/ref/reference.cpp.
#if defined(SWALP_CPU_QUANTIZE_OPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SWALP_CPU_QUANTIZE_OPS_INL_H_
#undef SWALP_CPU_QUANTIZE_OPS_INL_H_
#else
#define SWALP_CPU_QUANTIZE_OPS_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "cpu/kernel_params.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
using VI = hn::Vec<DI>;

constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

// Rounds magnitudes t >= 0 (in grid steps) to integers by mode R. `random24` holds the top 24
// random bits of each element; `negative` is true where the input was negative.
template <Rounding R>
HWY_INLINE VF RoundMagnitudeSigned(DF df, VF t, VI random24, hn::Mask<DF> negative) {
  if constexpr (R == Rounding::kNearest) {
    return hn::Round(t);  // ties to even
  } else if constexpr (R == Rounding::kZero) {
    return hn::Floor(t);
  } else if constexpr (R == Rounding::kUp) {
    return hn::IfThenElse(negative, hn::Floor(t), hn::Ceil(t));
  } else if constexpr (R == Rounding::kDown) {
    return hn::IfThenElse(negative, hn::Ceil(t), hn::Floor(t));
  } else {
    // u < frac * 2^24 on integers u < 2^24, which float32 holds exactly.
    const VF floor = hn::Floor(t);
    const VF scaled_frac = hn::Mul(hn::Sub(t, floor), hn::Set(df, 16777216.0f));
    const auto up = hn::Lt(hn::ConvertTo(df, random24), scaled_frac);
    return hn::Add(floor, hn::IfThenElseZero(up, hn::Set(df, 1.0f)));
  }
}

// Some emulated targets' Ceil returns -0 for 0; magnitudes carry no sign.
template <Rounding R>
HWY_INLINE VF RoundMagnitude(DF df, VF t, VI random24, hn::Mask<DF> negative) {
  return hn::Abs(RoundMagnitudeSigned<R>(df, t, random24, negative));
}

// Float-format constants as vectors, broadcast once per job rather than per scope.
struct FloatVecs {
  VI min_normal_bits, t_exponent, max_bits, overflow_bits, min_bits;
  VI dropped_mask;  // the 23 - M float32 mantissa bits below the format's last
  VF sub_down1, sub_down2, sub_up1, sub_up2;
  int random_shift;  // M + 1: the top 23 - M of the 24 random bits are compared
  bool saturate;
  bool rare_subnormals;  // the format's smallest normal is float32's: subnormal inputs are rare
  bool unsigned_zero, positive_only;
};

// Float32 bits of a quiet NaN, and of Inf.
constexpr int32_t kNanBits = 0x7fc00000, kInfBits = 0x7f800000;

HWY_INLINE FloatVecs BroadcastFloat(DF df, const FloatConsts& c) {
  const DI di;
  // Jobs of other kinds carry zeroed FloatConsts (M reads as -127): no mask, never used.
  const int man_bits = (c.t_exponent_bits >> 23) - 127;
  const int32_t dropped_mask =
      man_bits >= 0 && man_bits <= 23 ? int32_t((1u << (23 - man_bits)) - 1) : 0;
  return {hn::Set(di, c.min_normal_bits),
          hn::Set(di, c.t_exponent_bits),
          hn::Set(di, c.max_bits),
          hn::Set(di, c.has_inf ? kInfBits : kNanBits),
          hn::Set(di, c.min_bits),
          hn::Set(di, dropped_mask),
          hn::Set(df, c.sub_down1),
          hn::Set(df, c.sub_down2),
          hn::Set(df, c.sub_up1),
          hn::Set(df, c.sub_up2),
          man_bits + 1,
          c.saturate,
          c.min_normal_bits <= 0x00800000,
          c.unsigned_zero,
          c.positive_only};
}

// Magnitude an overflowing result takes: Inf (NaN in a format without Inf) when the format does
// not saturate and the mode carries the magnitude away from zero; the largest finite otherwise.
template <Rounding R>
HWY_INLINE VF OverflowMagnitude(DF df, const FloatVecs& c, hn::Mask<DF> negative) {
  const VF max = hn::BitCast(df, c.max_bits);
  if (c.saturate) return max;
  const VF inf = hn::BitCast(df, c.overflow_bits);
  if constexpr (R == Rounding::kZero) return max;
  if constexpr (R == Rounding::kUp) return hn::IfThenElse(negative, max, inf);
  if constexpr (R == Rounding::kDown) return hn::IfThenElse(negative, inf, max);
  return inf;
}

template <Rounding R>
HWY_INLINE VF QuantizeFloatVec(DF df, VF v, VI random24, const FloatVecs& c) {
  const DI di;
  const VI bits = hn::BitCast(di, v);
  const VI abs_bits = hn::And(bits, hn::Set(di, 0x7fffffff));
  const auto negative = hn::RebindMask(df, hn::Lt(bits, hn::Zero(di)));
  const auto subnormal = hn::RebindMask(df, hn::Lt(abs_bits, c.min_normal_bits));
  // Whether any lane is in the target's subnormal range. Formats with float32's exponent range
  // (bf16, tf32) almost never are, so they skip that path; for the others it is data-dependent
  // and a branch would mispredict, so they always compute it.
  VF y;
  if constexpr (R == Rounding::kStochastic) {
    // Normal range, integers only: with rem the dropped bits and v = u >> (M + 1), the oracle's
    // u < rem / 2^(23-M) * 2^24 is v < rem, which is when adding dropped_mask - v carries into
    // the kept bits (QPyTorch's add-and-truncate, with the oracle's comparison). The carry moves
    // a round-up into the next binade. Zero stays zero; lanes below the format's smallest normal
    // take the scaled path below.
    const VI v = hn::ShiftRightSame(random24, c.random_shift);
    y = hn::BitCast(df, hn::AndNot(c.dropped_mask, hn::Add(abs_bits, hn::Sub(c.dropped_mask, v))));
    // As for nearest: formats with float32's range skip the branch unless a lane needs it
    // (zero does not); for the others it is data-dependent, so they always compute it.
    const auto nonzero_subnormal =
        hn::And(subnormal, hn::RebindMask(df, hn::Ne(abs_bits, hn::Zero(di))));
    if (!c.rare_subnormals || !hn::AllFalse(df, nonzero_subnormal)) {
      const VF t = hn::Mul(hn::Mul(hn::BitCast(df, abs_bits), c.sub_down1), c.sub_down2);
      const VF k = RoundMagnitude<R>(df, t, random24, negative);
      y = hn::IfThenElse(subnormal, hn::Mul(hn::Mul(k, c.sub_up1), c.sub_up2), y);
    }
  } else {
    const bool any_subnormal = !c.rare_subnormals || !hn::AllFalse(df, subnormal);
    const VI t_exponent = c.t_exponent;
    // Normal range: keep the mantissa, move the exponent so that one grid step is 1.
    VF t = hn::BitCast(df, hn::Or(hn::And(abs_bits, hn::Set(di, 0x007fffff)), t_exponent));
    if (any_subnormal)
      t = hn::IfThenElse(subnormal,
                         hn::Mul(hn::Mul(hn::BitCast(df, abs_bits), c.sub_down1), c.sub_down2), t);
    const VF k = RoundMagnitude<R>(df, t, random24, negative);
    // Back: the integer add moves the exponent and carries a round-up into the next binade.
    y = hn::BitCast(df, hn::Add(hn::Sub(hn::BitCast(di, k), t_exponent),
                                hn::And(abs_bits, hn::Set(di, 0x7f800000))));
    if (any_subnormal) y = hn::IfThenElse(subnormal, hn::Mul(hn::Mul(k, c.sub_up1), c.sub_up2), y);
  }
  const auto overflow = hn::RebindMask(df, hn::Gt(hn::BitCast(di, y), c.max_bits));
  y = hn::IfThenElse(overflow, OverflowMagnitude<R>(df, c, negative), y);
  if (c.positive_only) y = hn::BitCast(df, hn::Max(hn::BitCast(di, y), c.min_bits));
  // FNUZ has no -0: a zero keeps no sign. (Per-format flags: uniform, predicted branches.)
  if (!c.unsigned_zero || c.positive_only)
    y = hn::BitCast(df, hn::Or(hn::BitCast(di, y), hn::AndNot(hn::Set(di, 0x7fffffff), bits)));
  else
    y = hn::IfThenElse(
        hn::Eq(y, hn::Zero(df)), hn::Zero(df),
        hn::BitCast(df, hn::Or(hn::BitCast(di, y), hn::AndNot(hn::Set(di, 0x7fffffff), bits))));
  // Inf and NaN inputs: rare, so one test and a branch.
  const VI inf_bits = hn::Set(di, kInfBits);
  const auto special = hn::RebindMask(df, hn::Gt(abs_bits, hn::Sub(inf_bits, hn::Set(di, 1))));
  if (HWY_UNLIKELY(!hn::AllFalse(df, special))) {
    const auto is_inf = hn::RebindMask(df, hn::Eq(abs_bits, inf_bits));
    if (!c.saturate) {  // Inf stays Inf where the format has it; NaN (positive) where not
      const VF inf_result = hn::IfThenElse(hn::RebindMask(df, hn::Eq(c.overflow_bits, inf_bits)), v,
                                           hn::BitCast(df, c.overflow_bits));
      y = hn::IfThenElse(is_inf, inf_result, y);
    }
    y = hn::IfThenElse(hn::RebindMask(df, hn::Gt(abs_bits, inf_bits)), v, y);  // NaN stays
  }
  // E8M0: zero, negative (and -0) inputs are NaN.
  if (c.positive_only)
    y = hn::IfThenElse(hn::RebindMask(df, hn::Lt(bits, hn::Set(di, 1))),
                       hn::BitCast(df, hn::Set(di, kNanBits)), y);
  return y;
}

// Power-of-two grid with clamp (fixed, bfp, MXINT8). Parameters are vectors so that the same
// code serves constants (broadcast) and per-column parameters (loaded).
struct GridVecs {
  VF down1, down2, up, kmax_positive, kmax_negative;
};

HWY_INLINE GridVecs BroadcastGrid(DF df, const GridConsts& g) {
  return {hn::Set(df, g.down1), hn::Set(df, g.down2), hn::Set(df, g.up),
          hn::Set(df, g.kmax_positive), hn::Set(df, g.kmax_negative)};
}

// |x| scaled to grid steps. A nonzero magnitude that would underflow below 2^-126 is raised
// to 2^-126: every mode rounds all values in (0, 1) steps alike at that size, and keeps
// directed and stochastic rounding exact where float32 scaling would flush to zero.
HWY_INLINE VF ScaleToSteps(DF df, VF magnitude, VF down1, VF down2) {
  const VF t = hn::Mul(hn::Mul(magnitude, down1), down2);
  const VF tiny = hn::Set(df, 1.17549435e-38f);
  const auto raise = hn::And(hn::Gt(magnitude, hn::Zero(df)), hn::Lt(t, tiny));
  return hn::IfThenElse(raise, tiny, t);
}

template <Rounding R>
HWY_INLINE VF QuantizeGridVec(DF df, VF v, VI random24, const GridVecs& g) {
  const DI di;
  const auto negative = hn::RebindMask(df, hn::Lt(hn::BitCast(di, v), hn::Zero(di)));
  const VF magnitude = hn::Abs(v);
  const VF t = ScaleToSteps(df, magnitude, g.down1, g.down2);
  VF k = RoundMagnitude<R>(df, t, random24, negative);
  k = hn::Min(k, hn::IfThenElse(negative, g.kmax_negative, g.kmax_positive));
  const VF y = hn::CopySignToAbs(hn::Mul(k, g.up), v);
  return hn::IfThenElse(hn::IsNaN(v), v, y);
}

// MX with float elements: scale into the element's range, round as the element, scale back.
template <Rounding R>
HWY_INLINE VF QuantizeMxFloatVec(DF df, VF v, VI random24, const GridVecs& g, const FloatVecs& c) {
  const VF scaled = hn::CopySignToAbs(ScaleToSteps(df, hn::Abs(v), g.down1, g.down2), v);
  return hn::Mul(QuantizeFloatVec<R>(df, scaled, random24, c), g.up);
}

// Symmetric linear code: t = |x| / scale, k = round(t) clamped to qmax, y = k * scale.
template <Rounding R>
HWY_INLINE VF QuantizeIntVec(DF df, VF v, VI random24, VF scale, VF qmax) {
  const DI di;
  const auto negative = hn::RebindMask(df, hn::Lt(hn::BitCast(di, v), hn::Zero(di)));
  const VF magnitude = hn::Abs(v);
  // A scale that underflowed to 0 would make 0/0: zero stays zero.
  const VF t = hn::IfThenZeroElse(hn::Eq(magnitude, hn::Zero(df)), hn::Div(magnitude, scale));
  const VF k = hn::Min(RoundMagnitude<R>(df, t, random24, negative), qmax);
  return hn::CopySignToAbs(hn::Mul(k, scale), v);
}

// Random bits of elements: an array of random24 (null: none), or a source with Load(i) (a
// vector) and At(i) (one element), such as StochasticUnits.
template <class Source>
HWY_INLINE VI LoadRandom(const Source& source, size_t i) {
  if constexpr (std::is_pointer_v<Source>)
    return source ? hn::LoadU(DI(), source + i) : hn::Zero(DI());
  else
    return source.Load(i);
}
template <class Source>
HWY_INLINE int32_t RandomAt(const Source& source, size_t i) {
  if constexpr (std::is_pointer_v<Source>)
    return source ? source[i] : 0;
  else
    return source.At(i);
}

// One padded vector for elements [i, end) (fewer than a vector's lanes), so heads and tails go
// through the same vector code as whole vectors.
template <class Random, class Op>
HWY_INLINE void PartialVector(const float* in, float* out, size_t i, size_t end,
                              const Random& random, const Op& op) {
  const DF df;
  const DI di;
  HWY_ALIGN float part_in[kMaxLanes] = {};
  HWY_ALIGN float part_out[kMaxLanes];
  HWY_ALIGN int32_t part_random[kMaxLanes] = {};
  std::copy(in + i, in + end, part_in);
  for (size_t j = i; j < end; ++j) part_random[j - i] = RandomAt(random, j);
  hn::Store(op(hn::Load(df, part_in), hn::Load(di, part_random), i), df, part_out);
  std::copy(part_out, part_out + (end - i), out + i);
}

// Software prefetch distance of the elementwise loops: the hardware prefetcher alone left
// compute-heavy kernels (posits) waiting on memory (30-40% of a copy's speed against 83-93%).
constexpr uintptr_t kPrefetchBytes = 2048;
HWY_INLINE void PrefetchAhead(const float* p) {
  // Integer arithmetic: the address may lie past the array, and a prefetch never faults.
  hwy::Prefetch(reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(p) + kPrefetchBytes));
}

// Applies `op(v, random24, offset)` to count elements, whole vectors then a padded tail. With
// `stream`, whole vectors go out by non-temporal stores (aligned: a padded head first), which
// skip reading the output's lines before writing them; the caller ends with hwy::FlushStream.
// The input is prefetched ahead unless the random source is a StochasticUnits, whose fill
// prefetched the chunk already.
template <class Random, class Op>
HWY_INLINE void ForEachVector(const float* in, float* out, size_t count, const Random& random,
                              const Op& op, bool stream = false) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  constexpr bool kPrefetch = std::is_pointer_v<Random>;
  size_t i = 0;
  if (stream) {
    const size_t misaligned = (reinterpret_cast<uintptr_t>(out) / sizeof(float)) % lanes;
    const size_t head = misaligned ? std::min(count, lanes - misaligned) : 0;
    if (head) PartialVector(in, out, 0, head, random, op);
    for (i = head; i + lanes <= count; i += lanes) {
      if (kPrefetch) PrefetchAhead(in + i);
      hn::Stream(op(hn::LoadU(df, in + i), LoadRandom(random, i), i), df, out + i);
    }
  } else {
    for (; i + lanes <= count; i += lanes) {
      if (kPrefetch) PrefetchAhead(in + i);
      hn::StoreU(op(hn::LoadU(df, in + i), LoadRandom(random, i), i), df, out + i);
    }
  }
  if (i < count) PartialVector(in, out, i, count, random, op);
}

// Largest |x| of count elements as float32 magnitude bits; NaN orders above Inf.
HWY_INLINE uint32_t AbsMaxBits(const float* in, size_t count) {
  const DF df;
  const DI di;
  const size_t lanes = hn::Lanes(df);
  const VI magnitude_mask = hn::Set(di, 0x7fffffff);
  VI acc = hn::Zero(di);
  size_t i = 0;
  for (; i + lanes <= count; i += lanes)
    acc = hn::Max(acc, hn::And(hn::BitCast(di, hn::LoadU(df, in + i)), magnitude_mask));
  int32_t best = hn::GetLane(hn::MaxOfLanes(di, acc));
  for (; i < count; ++i) {
    int32_t bits;
    std::memcpy(&bits, in + i, sizeof bits);
    best = std::max(best, bits & 0x7fffffff);
  }
  return uint32_t(best);
}

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#endif  // SWALP_CPU_QUANTIZE_OPS_INL_H_
