// Fast quantize kernels: one Highway source compiled for every SIMD target, dispatched once per
// array (HWY_DYNAMIC_DISPATCH in quantize.cpp). Each exported function runs a whole job,
// OpenMP loop included. Oracle: core/src/ref/reference.cpp.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quantize_kernels.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/kernel_params.h"
#include "swalp/rng.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
using VI = hn::Vec<DI>;
using DU = hn::RebindToUnsigned<DF>;
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

#if HWY_TARGET == HWY_SCALAR
// One lane: no 64-bit repartition; the scalar definition is the kernel.
void FillRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count, int32_t* out,
                  const float* = nullptr, const float* = nullptr) {
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
void FillRandom24(uint64_t seed, uint64_t stream, size_t first, size_t count, int32_t* out,
                  const float* prefetch_in = nullptr, const float* prefetch_out = nullptr) {
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
  VI min_normal_bits, t_exponent, max_bits;
  VF sub_down1, sub_down2, sub_up1, sub_up2;
  bool saturate;
  bool rare_subnormals;  // the format's smallest normal is float32's: subnormal inputs are rare
};

HWY_INLINE FloatVecs BroadcastFloat(DF df, const FloatConsts& c) {
  const DI di;
  return {hn::Set(di, c.min_normal_bits), hn::Set(di, c.t_exponent_bits),
          hn::Set(di, c.max_bits),        hn::Set(df, c.sub_down1),
          hn::Set(df, c.sub_down2),       hn::Set(df, c.sub_up1),
          hn::Set(df, c.sub_up2),         c.saturate,
          c.min_normal_bits <= 0x00800000};
}

// Magnitude an overflowing result takes: Inf when the format has Inf, does not saturate, and
// the mode carries the magnitude away from zero; the largest finite value otherwise.
template <Rounding R>
HWY_INLINE VF OverflowMagnitude(DF df, const FloatVecs& c, hn::Mask<DF> negative) {
  const DI di;
  const VF max = hn::BitCast(df, c.max_bits);
  if (c.saturate) return max;
  const VF inf = hn::BitCast(df, hn::Set(di, 0x7f800000));
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
  const bool any_subnormal = !c.rare_subnormals || !hn::AllFalse(df, subnormal);
  const VI t_exponent = c.t_exponent;
  // Normal range: keep the mantissa, move the exponent so that one grid step is 1.
  VF t = hn::BitCast(df, hn::Or(hn::And(abs_bits, hn::Set(di, 0x007fffff)), t_exponent));
  if (any_subnormal)
    t = hn::IfThenElse(subnormal,
                       hn::Mul(hn::Mul(hn::BitCast(df, abs_bits), c.sub_down1), c.sub_down2), t);
  const VF k = RoundMagnitude<R>(df, t, random24, negative);
  // Back: the integer add moves the exponent and carries a round-up into the next binade.
  VF y = hn::BitCast(df, hn::Add(hn::Sub(hn::BitCast(di, k), t_exponent),
                                 hn::And(abs_bits, hn::Set(di, 0x7f800000))));
  if (any_subnormal) y = hn::IfThenElse(subnormal, hn::Mul(hn::Mul(k, c.sub_up1), c.sub_up2), y);
  const auto overflow = hn::RebindMask(df, hn::Gt(hn::BitCast(di, y), c.max_bits));
  y = hn::IfThenElse(overflow, OverflowMagnitude<R>(df, c, negative), y);
  y = hn::BitCast(df, hn::Or(hn::BitCast(di, y), hn::AndNot(hn::Set(di, 0x7fffffff), bits)));
  // Inf and NaN inputs: rare, so one test and a branch.
  const VI inf_bits = hn::Set(di, 0x7f800000);
  const auto special = hn::RebindMask(df, hn::Gt(abs_bits, hn::Sub(inf_bits, hn::Set(di, 1))));
  if (HWY_UNLIKELY(!hn::AllFalse(df, special))) {
    if (!c.saturate) y = hn::IfThenElse(hn::RebindMask(df, hn::Eq(abs_bits, inf_bits)), v, y);
    y = hn::IfThenElse(hn::RebindMask(df, hn::Gt(abs_bits, inf_bits)), v, y);  // NaN stays
  }
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

// Applies `op(v, random24, offset)` to count elements, whole vectors then a padded tail, so the
// tail goes through the same vector code. `random24` may be null (no stochastic rounding).
template <class Op>
HWY_INLINE void ForEachVector(const float* in, float* out, size_t count, const int32_t* random24,
                              const Op& op) {
  const DF df;
  const DI di;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= count; i += lanes) {
    const VI r = random24 ? hn::LoadU(di, random24 + i) : hn::Zero(di);
    hn::StoreU(op(hn::LoadU(df, in + i), r, i), df, out + i);
  }
  if (i < count) {
    HWY_ALIGN float tail_in[kMaxLanes] = {};
    HWY_ALIGN float tail_out[kMaxLanes];
    HWY_ALIGN int32_t tail_random[kMaxLanes] = {};
    std::copy(in + i, in + count, tail_in);
    if (random24) std::copy(random24 + i, random24 + count, tail_random);
    hn::Store(op(hn::Load(df, tail_in), hn::Load(di, tail_random), i), df, tail_out);
    std::copy(tail_out, tail_out + (count - i), out + i);
  }
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

template <Rounding R>
void ElementwiseImpl(const ElementwiseJob& job) {
  const DF df;
  const GridVecs grid = BroadcastGrid(df, job.grid);
  const FloatVecs float_vecs = BroadcastFloat(df, job.float_consts);
  const size_t chunks = (job.n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 8)
  for (size_t chunk = 0; chunk < chunks; ++chunk) {
    HWY_ALIGN int32_t random24[kChunk];
    const size_t begin = chunk * kChunk, count = std::min(kChunk, job.n - begin);
    const int32_t* random = nullptr;
    if constexpr (R == Rounding::kStochastic) {
      // The Philox fill is compute-bound: it prefetches the chunk's data as it goes, so the
      // memory traffic overlaps it instead of following it.
      FillRandom24(job.seed, job.stream, job.index_offset + begin, count, random24, job.in + begin,
                   job.out + begin);
      random = random24;
    }
    if (job.is_float) {
      ForEachVector(job.in + begin, job.out + begin, count, random,
                    [&](VF v, VI r, size_t) { return QuantizeFloatVec<R>(df, v, r, float_vecs); });
    } else {
      ForEachVector(job.in + begin, job.out + begin, count, random,
                    [&](VF v, VI r, size_t) { return QuantizeGridVec<R>(df, v, r, grid); });
    }
  }
}

// Quantizes one scope's contiguous elements with constant parameters.
template <Rounding R>
void QuantizeSegment(const ScopedJob& job, const FloatVecs& element, const ScopeParams& p,
                     const float* in, float* out, size_t count, const int32_t* random24) {
  const DF df;
  switch (p.action) {
    case ScopeAction::kCopy:
      if (in != out) std::copy(in, in + count, out);
      return;
    case ScopeAction::kNan:
    case ScopeAction::kInfError:
      std::fill(out, out + count, std::numeric_limits<float>::quiet_NaN());
      return;
    case ScopeAction::kQuantize:
      break;
  }
  const GridVecs grid = BroadcastGrid(df, p.grid);
  switch (job.kind) {
    case ScopedKind::kBlockFloat:
    case ScopedKind::kMxInt8:
      ForEachVector(in, out, count, random24,
                    [&](VF v, VI r, size_t) { return QuantizeGridVec<R>(df, v, r, grid); });
      return;
    case ScopedKind::kMxFloat:
      ForEachVector(in, out, count, random24, [&](VF v, VI r, size_t) {
        return QuantizeMxFloatVec<R>(df, v, r, grid, element);
      });
      return;
    case ScopedKind::kInt: {
      const VF scale = hn::Set(df, p.scale), qmax = hn::Set(df, p.grid.kmax_positive);
      ForEachVector(in, out, count, random24,
                    [&](VF v, VI r, size_t) { return QuantizeIntVec<R>(df, v, r, scale, qmax); });
      return;
    }
  }
}

// The common case of a short power-of-two-scaled scope (bfp, mx): a normal absmax whose grid
// factors are single normal floats, built from bits without make_scope_params. Returns false,
// doing nothing, for every other case (zero, NaN, Inf, subnormal or extreme scopes, int:B).
template <Rounding R>
HWY_INLINE bool QuantizeCommonScope(const ScopedJob& job, const FloatVecs& element, uint32_t absmax,
                                    const float* in, float* out, size_t count,
                                    const int32_t* random24) {
  if (job.kind == ScopedKind::kInt || absmax < 0x00800000u || absmax >= 0x7f800000u) return false;
  const int exponent = int(absmax >> 23) - 127;
  int grid_exponent;
  switch (job.kind) {
    case ScopedKind::kBlockFloat:
      grid_exponent = exponent + 2 - job.format.bits;
      break;
    case ScopedKind::kMxInt8:
      grid_exponent = std::min(exponent - job.format.mx_emax, 127) - 6;
      break;
    default:
      grid_exponent = std::min(exponent - job.format.mx_emax, 127);
      break;
  }
  if (grid_exponent < -126 || grid_exponent > 126) return false;
  const DF df;
  const DI di;
  const GridVecs grid{hn::BitCast(df, hn::Set(di, (127 - grid_exponent) << 23)), hn::Set(df, 1.0f),
                      hn::BitCast(df, hn::Set(di, (127 + grid_exponent) << 23)),
                      hn::Set(df, job.kmax), hn::Set(df, job.kmax)};
  if (job.kind == ScopedKind::kMxFloat) {
    // Rounding to the element format scaled by 2^grid_exponent is rounding to a float format
    // whose exponent range is shifted by grid_exponent: the normal-range bit trick does not
    // depend on the scale, so only the subnormal boundary, its factors and the maximum move.
    // That needs no scaling of the data when every shifted constant is a normal float32 and
    // the subnormal factor is >= 1 (no underflow); other blocks take the scaling path.
    const int man_bits = job.format.element.man_bits, emin = job.format.element.emin();
    const int down_exponent = man_bits - emin - grid_exponent;
    const int up_exponent = emin + grid_exponent - man_bits;
    const int max_exponent = job.format.element.emax() + grid_exponent;
    if (down_exponent >= 0 && down_exponent <= 127 && up_exponent >= -126 && max_exponent <= 126) {
      FloatVecs shifted = element;
      shifted.min_normal_bits = hn::Add(element.min_normal_bits, hn::Set(di, grid_exponent << 23));
      shifted.max_bits = hn::Add(element.max_bits, hn::Set(di, grid_exponent << 23));
      shifted.sub_down1 = hn::BitCast(df, hn::Set(di, (127 + down_exponent) << 23));
      shifted.sub_up1 = hn::BitCast(df, hn::Set(di, (127 + up_exponent) << 23));
      shifted.sub_down2 = shifted.sub_up2 = hn::Set(df, 1.0f);
      ForEachVector(in, out, count, random24,
                    [&](VF v, VI r, size_t) { return QuantizeFloatVec<R>(df, v, r, shifted); });
      return true;
    }
    ForEachVector(in, out, count, random24, [&](VF v, VI r, size_t) {
      return QuantizeMxFloatVec<R>(df, v, r, grid, element);
    });
  } else {
    ForEachVector(in, out, count, random24,
                  [&](VF v, VI r, size_t) { return QuantizeGridVec<R>(df, v, r, grid); });
  }
  return true;
}

// Scopes that are contiguous runs: tensor, row, blockN. Returns false if a scope held an Inf
// that the format cannot take.
template <Rounding R>
bool ContiguousScopesImpl(const ScopedJob& job) {
  const ScopeLayout& layout = job.layout;
  const size_t n = layout.n;
  if (n == 0) return true;
  // Each row of length row_len splits into segments of segment_len (the last may be short).
  size_t row_len = n, segment_len = n;
  if (layout.scope.kind == ScopeKind::kRow) row_len = segment_len = layout.cols;
  if (layout.scope.kind == ScopeKind::kBlock) {
    row_len = layout.last_dim;
    segment_len = std::min<size_t>(size_t(layout.scope.block), row_len);
  }
  const size_t per_row = (row_len + segment_len - 1) / segment_len;
  const size_t segments = (n / row_len) * per_row;
  auto segment_range = [&](size_t s, size_t& begin, size_t& end) {
    const size_t row = s / per_row, piece = s % per_row;
    begin = row * row_len + piece * segment_len;
    end = std::min(begin + segment_len, (row + 1) * row_len);
  };
  std::atomic<bool> inf_seen{false};
  constexpr bool kRandom = R == Rounding::kStochastic;
  const FloatVecs element = BroadcastFloat(DF(), job.element);

  if (segment_len >= 4 * kChunk) {
    // Long scopes: a parallel absmax pass, then a parallel quantize pass.
    for (size_t s = 0; s < segments; ++s) {
      size_t begin, end;
      segment_range(s, begin, end);
      const size_t chunks = (end - begin + kChunk - 1) / kChunk;
      uint32_t absmax = 0;
#pragma omp parallel for schedule(static) reduction(max : absmax)
      for (size_t c = 0; c < chunks; ++c) {
        const size_t b = begin + c * kChunk;
        absmax = std::max(absmax, AbsMaxBits(job.in + b, std::min(kChunk, end - b)));
      }
      const ScopeParams params = make_scope_params(job, absmax);
      if (params.action == ScopeAction::kInfError) return false;
#pragma omp parallel for schedule(static)
      for (size_t c = 0; c < chunks; ++c) {
        HWY_ALIGN int32_t random24[kChunk];
        const size_t b = begin + c * kChunk, count = std::min(kChunk, end - b);
        if (kRandom)
          FillRandom24(job.seed, job.stream, job.index_offset + b, count, random24, job.in + b,
                       job.out + b);
        QuantizeSegment<R>(job, element, params, job.in + b, job.out + b, count,
                           kRandom ? random24 : nullptr);
      }
    }
    return true;
  }
  // Short scopes: each task takes a group of whole scopes and fuses absmax and quantize while
  // the scope is in cache, so the data is read from memory once.
  const size_t per_group = std::max<size_t>(1, kChunk / segment_len);
  const size_t groups = (segments + per_group - 1) / per_group;
#pragma omp parallel if (groups > 8)
  {
    std::vector<int32_t> random24(kRandom ? per_group * segment_len + 4 : 0);
#pragma omp for schedule(static)
    for (size_t g = 0; g < groups; ++g) {
      const size_t first = g * per_group, last = std::min(segments, first + per_group);
      size_t group_begin, group_end, begin, end;
      segment_range(first, group_begin, end);
      segment_range(last - 1, begin, group_end);
      if (kRandom)
        FillRandom24(job.seed, job.stream, job.index_offset + group_begin, group_end - group_begin,
                     random24.data(), job.in + group_begin, job.out + group_begin);
      for (size_t s = first; s < last; ++s) {
        segment_range(s, begin, end);
        const uint32_t absmax = AbsMaxBits(job.in + begin, end - begin);
        const int32_t* random = kRandom ? random24.data() + (begin - group_begin) : nullptr;
        if (QuantizeCommonScope<R>(job, element, absmax, job.in + begin, job.out + begin,
                                   end - begin, random))
          continue;
        const ScopeParams params = make_scope_params(job, absmax);
        if (params.action == ScopeAction::kInfError) inf_seen = true;
        QuantizeSegment<R>(job, element, params, job.in + begin, job.out + begin, end - begin,
                           random);
      }
    }
  }
  return !inf_seen;
}

// Largest magnitude bits of each column of a rows x cols row-major array: tasks take column
// ranges and sweep the rows, so each task's running maxima stay in cache.
HWY_INLINE std::vector<uint32_t> ColumnAbsMaxBits(const float* in, size_t rows, size_t cols) {
  std::vector<int32_t> absmax(cols + kMaxLanes, 0);
  const size_t pieces = (cols + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (rows * cols > 8 * kChunk)
  for (size_t piece = 0; piece < pieces; ++piece) {
    const DF df;
    const DI di;
    const size_t lanes = hn::Lanes(df);
    const size_t c0 = piece * kChunk, c1 = std::min(cols, c0 + kChunk);
    const VI magnitude_mask = hn::Set(di, 0x7fffffff);
    for (size_t r = 0; r < rows; ++r) {
      const float* row = in + r * cols;
      size_t c = c0;
      for (; c + lanes <= c1; c += lanes) {
        const VI bits = hn::And(hn::BitCast(di, hn::LoadU(df, row + c)), magnitude_mask);
        hn::StoreU(hn::Max(hn::LoadU(di, absmax.data() + c), bits), di, absmax.data() + c);
      }
      for (; c < c1; ++c) {
        int32_t bits;
        std::memcpy(&bits, row + c, sizeof bits);
        absmax[c] = std::max(absmax[c], bits & 0x7fffffff);
      }
    }
  }
  return std::vector<uint32_t>(absmax.begin(), absmax.begin() + cols);
}

// Column scope: per-column parameters, loaded as vectors alongside the data.
template <Rounding R>
bool ColumnScopesImpl(const ScopedJob& job) {
  const size_t rows = job.layout.rows, cols = job.layout.cols;
  if (job.layout.n == 0) return true;
  const std::vector<uint32_t> absmax = ColumnAbsMaxBits(job.in, rows, cols);
  // Parameter planes, one value per column, padded so whole vectors can be loaded at any
  // column: down1, down2, up, kmax+, kmax-, scale, action.
  const size_t padded = cols + kMaxLanes;
  std::vector<float> down1(padded), down2(padded), up(padded), kpos(padded), kneg(padded),
      scale(padded, 1.0f);
  std::vector<int32_t> action(padded, int32_t(ScopeAction::kCopy));
  for (size_t c = 0; c < cols; ++c) {
    const ScopeParams p = make_scope_params(job, absmax[c]);
    if (p.action == ScopeAction::kInfError) return false;
    down1[c] = p.grid.down1, down2[c] = p.grid.down2, up[c] = p.grid.up;
    kpos[c] = p.grid.kmax_positive, kneg[c] = p.grid.kmax_negative;
    scale[c] = p.action == ScopeAction::kQuantize ? p.scale : 1.0f;
    action[c] = int32_t(p.action);
  }
  const size_t pieces_per_row = (cols + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (rows * cols > 8 * kChunk)
  for (size_t task = 0; task < rows * pieces_per_row; ++task) {
    const DF df;
    const DI di;
    HWY_ALIGN int32_t random24[kChunk];
    const size_t r = task / pieces_per_row, c0 = (task % pieces_per_row) * kChunk;
    const size_t count = std::min(kChunk, cols - c0), begin = r * cols + c0;
    if constexpr (R == Rounding::kStochastic)
      FillRandom24(job.seed, job.stream, job.index_offset + begin, count, random24, job.in + begin,
                   job.out + begin);
    const VI copy_action = hn::Set(di, int32_t(ScopeAction::kCopy));
    const VI quantize_action = hn::Set(di, int32_t(ScopeAction::kQuantize));
    const VF nan = hn::Set(df, std::numeric_limits<float>::quiet_NaN());
    ForEachVector(job.in + begin, job.out + begin, count,
                  R == Rounding::kStochastic ? random24 : nullptr, [&](VF v, VI rnd, size_t i) {
                    const size_t c = c0 + i;
                    VF y;
                    if (job.kind == ScopedKind::kInt) {
                      y = QuantizeIntVec<R>(df, v, rnd, hn::LoadU(df, scale.data() + c),
                                            hn::LoadU(df, kpos.data() + c));
                    } else {
                      const GridVecs g{hn::LoadU(df, down1.data() + c),
                                       hn::LoadU(df, down2.data() + c),
                                       hn::LoadU(df, up.data() + c), hn::LoadU(df, kpos.data() + c),
                                       hn::LoadU(df, kneg.data() + c)};
                      y = QuantizeGridVec<R>(df, v, rnd, g);
                    }
                    const VI act = hn::LoadU(di, action.data() + c);
                    const auto copy = hn::RebindMask(df, hn::Eq(act, copy_action));
                    const auto quantized = hn::RebindMask(df, hn::Eq(act, quantize_action));
                    y = hn::IfThenElse(copy, v, y);
                    return hn::IfThenElse(hn::Or(copy, quantized), y, nan);
                  });
  }
  return true;
}

template <template <Rounding> class Fn, class Job>
auto ByRounding(Rounding rounding, const Job& job) {
  switch (rounding) {
    case Rounding::kStochastic:
      return Fn<Rounding::kStochastic>::Run(job);
    case Rounding::kZero:
      return Fn<Rounding::kZero>::Run(job);
    case Rounding::kUp:
      return Fn<Rounding::kUp>::Run(job);
    case Rounding::kDown:
      return Fn<Rounding::kDown>::Run(job);
    default:
      return Fn<Rounding::kNearest>::Run(job);
  }
}

template <Rounding R>
struct ElementwiseFn {
  static int Run(const ElementwiseJob& job) { return ElementwiseImpl<R>(job), 0; }
};
template <Rounding R>
struct ScopedFn {
  static bool Run(const ScopedJob& job) {
    return job.layout.scope.kind == ScopeKind::kCol ? ColumnScopesImpl<R>(job)
                                                    : ContiguousScopesImpl<R>(job);
  }
};

void QuantizeElementwise(const ElementwiseJob& job) {
  ByRounding<ElementwiseFn>(job.rounding, job);
}
bool QuantizeScoped(const ScopedJob& job) { return ByRounding<ScopedFn>(job.rounding, job); }

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace swalp::detail {
HWY_EXPORT(QuantizeElementwise);
HWY_EXPORT(QuantizeScoped);

void run_elementwise(const ElementwiseJob& job) { HWY_DYNAMIC_DISPATCH(QuantizeElementwise)(job); }
bool run_scoped(const ScopedJob& job) { return HWY_DYNAMIC_DISPATCH(QuantizeScoped)(job); }
}  // namespace swalp::detail
#endif
