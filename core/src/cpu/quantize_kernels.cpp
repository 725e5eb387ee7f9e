// Fast quantize kernels: one Highway source compiled for every SIMD target, dispatched once per
// array (HWY_DYNAMIC_DISPATCH in quantize.cpp). Each exported function runs a whole job,
// OpenMP loop included. Oracle: core/src/ref/reference.cpp.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quantize_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/kernel_params.h"
#include "cpu/philox_fill-inl.h"
#include "cpu/posit_ops-inl.h"
#include "cpu/quantize_ops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The job's random bits (stochastic:R: R bits per element, low bits forced to ones).
template <class Job>
HWY_INLINE void FillJobRandom24(const Job& job, size_t first, size_t count, int32_t* out,
                                const float* prefetch_in, const float* prefetch_out) {
  FillStochasticRandom24(job.seed, job.stream, first, count, job.stochastic_bits, out, prefetch_in,
                         prefetch_out);
}

// Elementwise formats: chunks of kChunk elements, each with its random bits (`random`: null,
// or a StochasticUnits filled for the chunk); `stream`: non-temporal stores (ForEachVector).
template <Rounding R, class Random>
void ElementwiseChunk(const ElementwiseJob& job, size_t begin, size_t count, const Random& random,
                      const FloatVecs& float_vecs, const GridVecs& grid,
                      const PositVecs& posit_vecs, bool stream) {
  const DF df;
  switch (job.kind) {
    case ElementwiseJob::Kind::kFloat:
      ForEachVector(
          job.in + begin, job.out + begin, count, random,
          [&](VF v, VI r, size_t) { return QuantizeFloatVec<R>(df, v, r, float_vecs); }, stream);
      break;
    case ElementwiseJob::Kind::kGrid:
      ForEachVector(
          job.in + begin, job.out + begin, count, random,
          [&](VF v, VI r, size_t) { return QuantizeGridVec<R>(df, v, r, grid); }, stream);
      break;
    case ElementwiseJob::Kind::kPosit:
      ForEachVector(
          job.in + begin, job.out + begin, count, random,
          [&](VF v, VI r, size_t) { return QuantizePositVec<R>(df, v, r, posit_vecs); }, stream);
      break;
  }
}

template <Rounding R>
void ElementwiseImpl(const ElementwiseJob& job) {
  const DF df;
  const GridVecs grid = BroadcastGrid(df, job.grid);
  const FloatVecs float_vecs = BroadcastFloat(df, job.float_consts);
  const PositVecs posit_vecs = BroadcastPosit(job.posit_n, job.posit_es);
  const size_t chunks = (job.n + kChunk - 1) / kChunk;
  const bool stream = job.n * sizeof(float) >= kStreamBytes;  // non-temporal stores
#pragma omp parallel if (chunks > 8)
  {
#pragma omp for schedule(static)
    for (size_t chunk = 0; chunk < chunks; ++chunk) {
      const size_t begin = chunk * kChunk, count = std::min(kChunk, job.n - begin);
      if constexpr (R == Rounding::kStochastic) {
        // The Philox fill is compute-bound: it prefetches the chunk's data as it goes, so the
        // memory traffic overlaps it instead of following it (not a streamed output's lines).
        thread_local StochasticUnits units;
        units.Fill(job.seed, job.stream, job.index_offset + begin, count, job.stochastic_bits,
                   job.in + begin, stream ? nullptr : job.out + begin);
        ElementwiseChunk<R>(job, begin, count, units, float_vecs, grid, posit_vecs, stream);
      } else {
        ElementwiseChunk<R>(job, begin, count, static_cast<const int32_t*>(nullptr), float_vecs,
                            grid, posit_vecs, stream);
      }
    }
    hwy::FlushStream();  // the streamed stores are visible before the caller reads the output
  }
}

// NVFP4 elements of one block: x / scale to fp4e2m1, times scale (nvfp4_element).
template <Rounding R, class Random>
HWY_INLINE void QuantizeNvfp4Block(const FloatVecs& element, float block_scale, const float* in,
                                   float* out, size_t count, const Random& random24) {
  const DF df;
  const VF scale = hn::Set(df, block_scale);
  ForEachVector(in, out, count, random24, [&](VF v, VI r, size_t) {
    return hn::Mul(QuantizeFloatVec<R>(df, hn::Div(v, scale), r, element), scale);
  });
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
    case ScopedKind::kNvfp4:
      QuantizeNvfp4Block<R>(element, p.scale, in, out, count, random24);
      return;
  }
}

// The common case of a short power-of-two-scaled scope (bfp, mx): a normal absmax whose grid
// factors are single normal floats, built from bits without make_scope_params. Returns false,
// doing nothing, for every other case (zero, NaN, Inf, subnormal or extreme scopes, int:B).
template <Rounding R>
HWY_INLINE bool QuantizeCommonScope(const ScopedJob& job, const FloatVecs& element, uint32_t absmax,
                                    const float* in, float* out, size_t count,
                                    const int32_t* random24) {
  if (job.kind == ScopedKind::kInt || job.kind == ScopedKind::kNvfp4 || absmax < 0x00800000u ||
      absmax >= 0x7f800000u)
    return false;
  const int exponent = int(absmax >> 23) - 127;
  int grid_exponent = 0;
  switch (job.kind) {
    case ScopedKind::kBlockFloat:
      grid_exponent = exponent + 2 - job.format.bits;
      break;
    case ScopedKind::kMxInt8:
    case ScopedKind::kMxFloat: {
      float amax;
      std::memcpy(&amax, &absmax, sizeof amax);
      const int scale = mx_scale_exponent(job.mx_scale, amax);
      grid_exponent = job.kind == ScopedKind::kMxInt8 ? scale - 6 : scale;
      break;
    }
    case ScopedKind::kInt:
    case ScopedKind::kNvfp4:
      return false;  // returned above; listed so that every kind is a case
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
      shifted.min_normal_bits =
          hn::Add(element.min_normal_bits, hn::Set(di, grid_exponent * (1 << 23)));
      shifted.max_bits = hn::Add(element.max_bits, hn::Set(di, grid_exponent * (1 << 23)));
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
          FillJobRandom24(job, job.index_offset + b, count, random24, job.in + b, job.out + b);
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
    std::vector<uint32_t> maxima(per_group);
    std::vector<float> nvfp4_scales(job.kind == ScopedKind::kNvfp4 ? per_group : 0);
#pragma omp for schedule(static)
    for (size_t g = 0; g < groups; ++g) {
      const size_t first = g * per_group, last = std::min(segments, first + per_group);
      size_t group_begin, group_end, begin, end;
      segment_range(first, group_begin, end);
      segment_range(last - 1, begin, group_end);
      if (kRandom)
        FillJobRandom24(job, job.index_offset + group_begin, group_end - group_begin,
                        random24.data(), job.in + group_begin, job.out + group_begin);
      // The group's maxima first (and NVFP4's block scales, whose scalar divisions then overlap
      // each other instead of stalling each block's quantization).
      for (size_t s = first; s < last; ++s) {
        segment_range(s, begin, end);
        maxima[s - first] = AbsMaxBits(job.in + begin, end - begin);
      }
      if (job.kind == ScopedKind::kNvfp4)
        for (size_t s = first; s < last; ++s) {
          float amax;
          std::memcpy(&amax, &maxima[s - first], sizeof amax);
          nvfp4_scales[s - first] = nvfp4_block_scale(amax, job.nvfp4_tensor_scale);
        }
      for (size_t s = first; s < last; ++s) {
        segment_range(s, begin, end);
        const uint32_t absmax = maxima[s - first];
        const int32_t* random = kRandom ? random24.data() + (begin - group_begin) : nullptr;
        if (job.kind == ScopedKind::kNvfp4 && absmax != 0 && absmax < 0x7f800000u) {
          QuantizeNvfp4Block<R>(element, nvfp4_scales[s - first], job.in + begin, job.out + begin,
                                end - begin, random);
          continue;
        }
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
      FillJobRandom24(job, job.index_offset + begin, count, random24, job.in + begin,
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
    case Rounding::kNearest:
      return Fn<Rounding::kNearest>::Run(job);
  }
  return Fn<Rounding::kNearest>::Run(job);  // unreachable: every mode is a case
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
