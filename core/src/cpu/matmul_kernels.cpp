// Fast rounded-accumulation products: Highway double lanes over a block of output columns, one
// row at a time; each addition in double, then rounded to the accumulator format by its bits
// (normal range: add-and-truncate with the oracle's comparisons), exceptional lanes (subnormal,
// overflow, Inf, NaN) by the oracle's scalar rule. Oracle: accumulate/matmul_reference.cpp.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/matmul_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "accumulate/accumulate_element.h"
#include "cpu/philox_fill-inl.h"

#ifndef SWALP_CPU_MATMUL_KERNELS_ONCE
#define SWALP_CPU_MATMUL_KERNELS_ONCE
namespace swalp::detail {

// A float accumulator's constants for rounding doubles by their bits.
struct DoubleRound {
  bool identity = true;         // exact: no rounding
  int drop = 0;                 // 52 - M: the double mantissa bits below the format's last
  int64_t mask = 0;             // 2^drop - 1
  int64_t min_normal_bits = 0;  // double bits of 2^emin; below: the scalar rule
  int64_t max_bits = 0;         // double bits of the largest finite value; above: the scalar rule
  bool unsigned_zero = false;   // FNUZ: a zero result is +0
  double step = 0;              // 2^(emin - M): the grid of the subnormal range
  AccumulatorRule rule;         // the scalar rule, for the other lanes
};

inline int64_t double_bits(double x) {
  int64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

inline DoubleRound double_round(const AccumulatorRule& rule) {
  DoubleRound d;
  d.rule = rule;
  if (rule.kind == AccumulatorRule::Kind::kExact) return d;
  d.identity = false;
  d.drop = 52 - rule.element.man_bits;
  d.mask = (int64_t(1) << d.drop) - 1;
  d.min_normal_bits = double_bits(std::ldexp(1.0, rule.element.emin));
  d.max_bits = double_bits(rule.element.max_finite);
  d.unsigned_zero = !rule.element.signed_zero;
  d.step = std::ldexp(1.0, rule.element.emin - rule.element.man_bits);
  return d;
}

struct MatmulJob {
  const AccumulateSpec* spec;
  DoubleRound acc, product, outer, result;
  const float* a;
  const float* b;
  float* c;
  size_t m, n, k;
  uint64_t steps;  // roundings per output element (accumulate_steps)
};

constexpr size_t kPanelBytes = size_t(16) << 20;  // the most of B one thread keeps converted

}  // namespace swalp::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;
using DI64 = hn::RebindToSigned<DD>;
using VD = hn::Vec<DD>;

// A rule's constants as vectors, broadcast once per task.
struct RoundVecs {
  hn::Vec<DI64> mask, half_minus_one, one;
  hn::Vec<DD> min_normal, max;
  // The range test: |x|'s bits plus `range_offset` map [min_normal, max] to [INT64_MIN,
  // range_last] and everything else (zero, subnormal, beyond max, Inf, NaN) above range_last.
  hn::Vec<DI64> abs_mask, range_offset, range_last;
  int drop;
  bool identity;
  const DoubleRound* rule;
};

HWY_INLINE RoundVecs Broadcast(const DoubleRound& c) {
  const DI64 di;
  const DD dd;
  double min_normal, max;
  std::memcpy(&min_normal, &c.min_normal_bits, sizeof min_normal);
  std::memcpy(&max, &c.max_bits, sizeof max);
  const uint64_t sign = uint64_t(1) << 63;  // wrapping arithmetic in uint64_t
  return {hn::Set(di, c.mask),
          hn::Set(di, c.mask >> 1),
          hn::Set(di, 1),
          hn::Set(dd, min_normal),
          hn::Set(dd, max),
          hn::Set(di, int64_t(sign - 1)),
          hn::Set(di, int64_t(sign - uint64_t(c.min_normal_bits))),
          hn::Set(di, int64_t(sign + uint64_t(c.max_bits - c.min_normal_bits))),
          c.drop,
          c.identity,
          &c};
}

// The bit rule on every lane (normal range); lanes it may not cover (zero, subnormal, beyond the
// largest finite, Inf, NaN) raise `worst` above c.range_last. `worst` is a running maximum over
// calls (one integer max per vector), so that a step tests once (OutOfRange). Adding to the low
// bits rounds the magnitude whatever the sign: the sign bit is only needed by up and down.
template <Rounding R>
HWY_INLINE VD RoundBits(VD x, const int32_t* random24, const RoundVecs& c, hn::Vec<DI64>& worst) {
  const DD dd;
  const DI64 di;
  const auto bits = hn::BitCast(di, x);
  hn::Vec<DI64> y;
  if constexpr (R == Rounding::kNearest) {  // ties to an even last kept bit
    const auto odd = hn::And(hn::ShiftRightSame(bits, c.drop), c.one);
    y = hn::AndNot(c.mask, hn::Add(bits, hn::Add(c.half_minus_one, odd)));
  } else if constexpr (R == Rounding::kZero) {
    y = hn::AndNot(c.mask, bits);
  } else if constexpr (R == Rounding::kStochastic) {
    // Up iff u < rem / 2^drop * 2^24, i.e. (u << (drop - 24)) < rem (drop >= 29).
    const hn::Rebind<int32_t, DD> d32;
    const auto u = hn::PromoteTo(di, hn::LoadU(d32, random24));
    y = hn::AndNot(c.mask, hn::Add(bits, hn::Sub(c.mask, hn::ShiftLeftSame(u, c.drop - 24))));
  } else {  // up / down: the magnitude goes away from zero on one side
    const auto negative = hn::Lt(bits, hn::Zero(di));
    const auto away = hn::AndNot(c.mask, hn::Add(bits, c.mask));
    const auto toward = hn::AndNot(c.mask, bits);
    y = R == Rounding::kUp ? hn::IfThenElse(negative, toward, away)
                           : hn::IfThenElse(negative, away, toward);
  }
  // In range: min_normal <= |x| <= max (then the result is at most max too). Zero sums take the
  // slow lanes too (SubnormalStep keeps the signed zero; FNUZ's zero becomes +0 there).
  worst = hn::Max(worst, hn::Add(hn::And(bits, c.abs_mask), c.range_offset));
  return hn::BitCast(dd, y);
}

HWY_INLINE hn::Vec<DI64> NoneOutOfRange() { return hn::Set(DI64(), hwy::LimitsMin<int64_t>()); }
HWY_INLINE bool OutOfRange(hn::Vec<DI64> worst, const RoundVecs& c) {
  return !hn::AllFalse(DI64(), hn::Gt(worst, c.range_last));
}

// Sums below the smallest normal (0 < |x| < 2^emin), where a small accumulator's grid is the
// uniform step 2^(emin - M) (fp16 sums of gradients fall there often): t = |x| / step (exact),
// rounded to an integer as the oracle's round_to_grid does (nearest: ties to even; stochastic:
// up iff u < frac * 2^24, frac exact), times step. Formats with an unsigned zero (FNUZ) leave
// this to the scalar rule, which gives their zero its +0.
template <Rounding R>
HWY_INLINE VD RoundSubnormals(VD x, const int32_t* random24, const DoubleRound& rule) {
  const DD dd;
  const VD t = hn::Mul(hn::Abs(x), hn::Set(dd, 1.0 / rule.step));
  VD k;
  if constexpr (R == Rounding::kNearest) {
    k = hn::Round(t);
  } else if constexpr (R == Rounding::kZero) {
    k = hn::Floor(t);
  } else if constexpr (R == Rounding::kStochastic) {
    const DI64 di;
    const hn::Rebind<int32_t, DD> d32;
    const VD u = hn::ConvertTo(dd, hn::PromoteTo(di, hn::LoadU(d32, random24)));
    const VD floor = hn::Floor(t);
    const VD scaled_frac = hn::Mul(hn::Sub(t, floor), hn::Set(dd, 16777216.0));
    k = hn::Add(floor, hn::IfThenElseZero(hn::Lt(u, scaled_frac), hn::Set(dd, 1.0)));
  } else {  // up: magnitude up for positive x; down: for negative x
    const auto negative = hn::Lt(x, hn::Zero(dd));
    const auto up = R == Rounding::kUp ? hn::Not(negative) : negative;
    k = hn::IfThenElse(up, hn::Ceil(t), hn::Floor(t));
  }
  return hn::CopySign(hn::Mul(k, hn::Set(dd, rule.step)), x);
}

// The scalar rule on the lanes the vector rules do not cover: overflow, Inf, NaN, and every
// zero or subnormal-range sum of a format with an unsigned zero (FNUZ).
template <Rounding R>
HWY_NOINLINE VD ScalarLanes(VD x, VD result, const int32_t* random24, const DoubleRound& rule) {
  const DD dd;
  constexpr size_t kMax = HWY_MAX_BYTES / sizeof(double);
  HWY_ALIGN double xs[kMax], ys[kMax];
  hn::Store(x, dd, xs);
  hn::Store(result, dd, ys);
  for (size_t i = 0; i < hn::Lanes(dd); ++i) {
    const double a = std::fabs(xs[i]);
    int64_t a_bits;
    std::memcpy(&a_bits, &a, sizeof a);
    const bool below = a_bits < rule.min_normal_bits;  // zero included
    if ((below && rule.unsigned_zero) || a_bits > rule.max_bits)
      ys[i] = round_accumulator(rule.rule, xs[i], R, random24 ? uint32_t(random24[i]) << 8 : 0u);
  }
  return hn::Load(dd, ys);
}

// The lanes RoundBits did not cover (found again from x): subnormal-range sums in SIMD, the rest
// by the scalar rule.
template <Rounding R>
HWY_INLINE VD FixSlowLanes(VD x, VD result, const int32_t* random24, const RoundVecs& c) {
  const DD dd;
  const DoubleRound& rule = *c.rule;
  const VD magnitude = hn::Abs(x);
  if (!rule.unsigned_zero) {
    const auto subnormal =
        hn::And(hn::Gt(magnitude, hn::Zero(dd)), hn::Lt(magnitude, c.min_normal));
    if (!hn::AllFalse(dd, subnormal))
      result = hn::IfThenElse(subnormal, RoundSubnormals<R>(x, random24, rule), result);
    if (hn::AllTrue(dd, hn::Le(magnitude, c.max))) return result;  // no overflow, Inf or NaN
  }
  return ScalarLanes<R>(x, result, random24, rule);
}

// Rounds the lanes of x to the rule; `random24` holds the lanes' 24 compared bits (stochastic).
template <Rounding R>
HWY_INLINE VD RoundDoubles(VD x, const int32_t* random24, const RoundVecs& c) {
  if (c.identity) return x;
  hn::Vec<DI64> worst = NoneOutOfRange();
  const VD result = RoundBits<R>(x, random24, c, worst);
  if (HWY_UNLIKELY(OutOfRange(worst, c))) return FixSlowLanes<R>(x, result, random24, c);
  return result;
}

constexpr size_t kStepsPerFill = 64;  // steps of random bits per fill

// A task's random bits for a run of steps: per 16-column tile (accumulate_random_index), the
// tile's bits for consecutive steps are one contiguous Philox run, filled in one call.
class TileRandom {
 public:
  // Steps [first, first + count) for the `columns` (a multiple of 16) from (row, n0).
  void Fill(const MatmulJob& job, size_t row, size_t n0, size_t columns, uint64_t first,
            size_t count) {
    const AccumulateSpec& spec = *job.spec;
    const size_t tiles = columns / kRandomTile;
    bits_.resize(tiles * count * kRandomTile + HWY_MAX_BYTES / 4);
    for (size_t t = 0; t < tiles; ++t)
      FillStochasticRandom24(
          spec.seed, spec.stream,
          accumulate_random_index(job.n, job.steps, row, n0 + t * kRandomTile, first),
          count * kRandomTile, spec.stochastic_bits, bits_.data() + t * count * kRandomTile);
    first_ = first, count_ = count;
  }
  bool Holds(uint64_t step) const { return step >= first_ && step < first_ + count_; }
  // Holds `step` afterwards: if not held, fills the run from it, at most kStepsPerFill steps and
  // none from `end` on (the end of the steps numbered like it).
  void Cover(const MatmulJob& job, size_t row, size_t n0, size_t columns, uint64_t step,
             uint64_t end) {
    if (!Holds(step))
      Fill(job, row, n0, columns, step, std::min<uint64_t>(kStepsPerFill, end - step));
  }
  uint64_t End() const { return first_ + count_; }  // the first step past those held
  void Clear() { count_ = 0; }                      // a new task: nothing held
  // The bits of step `step` (held) from column `column` of the task (lanes within one tile).
  const int32_t* At(uint64_t step, size_t column) const {
    return bits_.data() + ((column / kRandomTile) * count_ + (step - first_)) * kRandomTile +
           column % kRandomTile;
  }

 private:
  std::vector<int32_t> bits_;
  uint64_t first_ = 0;
  size_t count_ = 0;
};

// The random bits of `step` from `column` under rounding R (held by `random`); null otherwise.
template <Rounding R>
HWY_INLINE const int32_t* StepBits(const TileRandom& random, uint64_t step, size_t column) {
  return R == Rounding::kStochastic ? random.At(step, column) : nullptr;
}

// A partial sum of the pairwise order: element first_leaf >> level of its level.
struct PairwiseNode {
  size_t level, first_leaf;
};

// Per-thread buffers of one task.
struct Scratch {
  // The pairwise order's stack: partial sums (one node per level), the nodes' levels and first
  // leaves, each level's first step and its random bits.
  std::vector<double> tree;
  std::vector<PairwiseNode> nodes;
  std::vector<uint64_t> level_first;
  std::vector<TileRandom> level_random;
  // B's columns [n0, n0 + columns) packed row after row and converted to double once for all M
  // rows, so each step reads the next contiguous piece instead of one line per page of B, and
  // converts nothing. Columns past N repeat the last one: their sums are thrown away, and zeros
  // there would make zero sums, which take the slow lanes on every step. A panel longer than
  // kPanelBytes holds a window of kPanelBytes' worth of steps instead, refilled as a task's steps
  // move past it (each row then converts its own steps, as an unpacked loop would): a skinny
  // product with a huge K would otherwise take K x columns doubles per thread whatever N is.
  std::vector<double> panel;
  size_t panel_n0 = ~size_t(0), panel_first = 0, panel_end = 0;  // steps [first, end) held
  TileRandom random, outer_random;

  // Step j of the panel of columns [n0, n0 + w): a pointer into the window, refilled (out of
  // line, so that the K loop keeps its accumulators in registers) when j is outside it.
  HWY_INLINE const double* Row(const MatmulJob& job, size_t n0, size_t w, size_t columns,
                               size_t j) {
    if (HWY_UNLIKELY(panel_n0 != n0 || j < panel_first || j >= panel_end))
      Refill(job, n0, w, columns, j);
    return panel.data() + (j - panel_first) * columns;
  }

  HWY_NOINLINE void Refill(const MatmulJob& job, size_t n0, size_t w, size_t columns, size_t j) {
    const size_t window = std::max<size_t>(1, kPanelBytes / (columns * sizeof(double)));
    panel_first = job.k <= window ? 0 : j;
    panel_end = std::min(job.k, panel_first + window);
    panel.resize((panel_end - panel_first) * columns);
    for (size_t step = panel_first; step < panel_end; ++step) {
      double* row = panel.data() + (step - panel_first) * columns;
      std::copy(job.b + step * job.n + n0, job.b + step * job.n + n0 + w, row);
      std::fill(row + w, row + columns, row[w - 1]);
    }
    panel_n0 = n0;
  }
};

// The rules' vectors of a job, broadcast once per task.
struct JobVecs {
  RoundVecs acc, product, outer, result;
  explicit JobVecs(const MatmulJob& job)
      : acc(Broadcast(job.acc)),
        product(Broadcast(job.product)),
        outer(Broadcast(job.outer)),
        result(Broadcast(job.result)) {}
};

// The exact (or product-rounded) terms a * B[j][n0 + v*lanes ...] as double lanes.
HWY_INLINE VD Term(const JobVecs& vecs, VD a, const double* b_row, size_t v) {
  const VD p = hn::Mul(a, hn::LoadU(DD(), b_row + v));
  return RoundDoubles<Rounding::kNearest>(p, nullptr, vecs.product);
}

// acc + Term in double. A product of two floats is exact in double, so with exact products one
// fused multiply-add rounds the same sum once. kExactProducts is vecs.product.identity, a template
// argument so that the K loop does not test it once per vector.
template <bool kExactProducts>
HWY_INLINE VD AddTerm(const JobVecs& vecs, VD acc, VD a, const double* b_row, size_t v) {
  if constexpr (kExactProducts) return hn::MulAdd(a, hn::LoadU(DD(), b_row + v), acc);
  return hn::Add(acc, Term(vecs, a, b_row, v));
}

// kVectors accumulators (and outer sums) stay in registers over the whole K loop; a task's
// columns are whole 16-column random tiles. The columns past the last whole block of N go in
// tasks of one tile (kTileVectors), so that N = 10 costs 16 columns, not 64.
#if HWY_TARGET == HWY_SCALAR
constexpr size_t kVectors = 16;
#else
constexpr size_t kVectors = 8;
#endif
constexpr size_t kTileVectors = kRandomTile * sizeof(double) / HWY_MAX_BYTES;
static_assert(kTileVectors >= 1 && kTileVectors <= kVectors && kVectors % kTileVectors == 0);
HWY_INLINE size_t SequentialColumns() { return kVectors * hn::Lanes(DD()); }

// One step's slow lanes (RoundBits found a lane out of its range), out of line: the hot loop
// then keeps its accumulators in registers, and only this path sees them in memory.
template <Rounding R, bool kExactProducts, size_t kV>
HWY_NOINLINE void FixStep(const JobVecs& vecs, const VD* acc, VD* next, VD a, const double* b_row,
                          const TileRandom& random, uint64_t step) {
  const size_t lanes = hn::Lanes(DD());
  for (size_t v = 0; v < kV; ++v) {
    const VD sum = AddTerm<kExactProducts>(vecs, acc[v], a, b_row, v * lanes);
    next[v] = FixSlowLanes<R>(sum, next[v], StepBits<R>(random, step, v * lanes), vecs.acc);
  }
}

// The usual slow step of a small accumulator (fp16 sums of gradients land below its smallest
// normal in about 40% of the MLP's steps): every lane below the smallest normal rounded on the
// subnormal grid, inline, so the accumulators stay in registers. False when a lane is beyond the
// largest finite, Inf or NaN: FixStep then takes the whole step. Not for FNUZ formats.
template <Rounding R, bool kExactProducts, size_t kV>
HWY_INLINE bool SubnormalStep(const JobVecs& vecs, const VD (&acc)[kV], VD (&next)[kV], VD a,
                              const double* b_row, const TileRandom& random, uint64_t step) {
  const DD dd;
  const size_t lanes = hn::Lanes(dd);
  auto finite = hn::Le(hn::Zero(dd), hn::Zero(dd));  // all true
  for (size_t v = 0; v < kV; ++v) {
    const VD sum = AddTerm<kExactProducts>(vecs, acc[v], a, b_row, v * lanes);
    const VD magnitude = hn::Abs(sum);
    finite = hn::And(finite, hn::Le(magnitude, vecs.acc.max));
    next[v] = hn::IfThenElse(
        hn::Lt(magnitude, vecs.acc.min_normal),
        RoundSubnormals<R>(sum, StepBits<R>(random, step, v * lanes), *vecs.acc.rule), next[v]);
  }
  return hn::AllTrue(dd, finite);
}

template <Rounding R, bool kExactProducts, size_t kV>
void SequentialOrChunkedLoop(const MatmulJob& job, size_t row, size_t n0, size_t w, Scratch& s) {
  const DD dd;
  const size_t lanes = hn::Lanes(dd), columns = kV * lanes;
  const AccumulateSpec& spec = *job.spec;
  const bool chunked = spec.order == SumOrder::kChunked;
  const JobVecs vecs(job);
  VD acc[kV], out[kV];
  for (size_t v = 0; v < kV; ++v) acc[v] = out[v] = hn::Zero(dd);
  const float* a_row = job.a + row * job.k;
  const bool unsigned_zero = job.acc.unsigned_zero;  // FNUZ: all slow steps by FixStep
  size_t until_outer = chunked ? spec.chunk : 0;
  uint64_t chunk_index = 0;
  // The K loop in runs of steps that need no call (no panel refill, no random fill, no chunk
  // end), so that the accumulators stay in registers through a run; between runs, the panel
  // window (Scratch::Row), the random bits and the chunk's promotion are brought up to date.
  for (size_t j = 0; j < job.k;) {
    const double* b_row = s.Row(job, n0, w, columns, j);
    if (R == Rounding::kStochastic) s.random.Cover(job, row, n0, columns, j, job.k);
    size_t run_end = s.panel_end;
    if (R == Rounding::kStochastic) run_end = std::min<size_t>(run_end, s.random.End());
    if (chunked) run_end = std::min(run_end, j + until_outer);
    const size_t run_first = j;
    for (; j < run_end; ++j, b_row += columns) {
      const VD a = hn::Set(dd, double(a_row[j]));
      if (vecs.acc.identity) {
#pragma GCC unroll 16
        for (size_t v = 0; v < kV; ++v)
          acc[v] = AddTerm<kExactProducts>(vecs, acc[v], a, b_row, v * lanes);
      } else {
        // All vectors by the bit rule, then one test for lanes it does not cover; the sums are
        // recomputed from acc there (FixStep), so none is kept past the test.
        VD next[kV];
        hn::Vec<DI64> worst = NoneOutOfRange();
#pragma GCC unroll 16
        for (size_t v = 0; v < kV; ++v)
          next[v] = RoundBits<R>(AddTerm<kExactProducts>(vecs, acc[v], a, b_row, v * lanes),
                                 StepBits<R>(s.random, j, v * lanes), vecs.acc, worst);
        if (HWY_UNLIKELY(OutOfRange(worst, vecs.acc)) &&
            (unsigned_zero ||
             !SubnormalStep<R, kExactProducts, kV>(vecs, acc, next, a, b_row, s.random, j))) {
          VD acc_copy[kV], next_copy[kV];  // addressable copies: acc stays in registers
          for (size_t v = 0; v < kV; ++v) acc_copy[v] = acc[v], next_copy[v] = next[v];
          FixStep<R, kExactProducts, kV>(vecs, acc_copy, next_copy, a, b_row, s.random, j);
          for (size_t v = 0; v < kV; ++v) next[v] = next_copy[v];
        }
        for (size_t v = 0; v < kV; ++v) acc[v] = next[v];
      }
    }
    if (chunked && ((until_outer -= j - run_first) == 0 || j == job.k)) {
      if (R == Rounding::kStochastic)
        s.outer_random.Fill(job, row, n0, columns, job.k + chunk_index, 1);
      for (size_t v = 0; v < kV; ++v) {
        out[v] = RoundDoubles<R>(hn::Add(out[v], acc[v]),
                                 StepBits<R>(s.outer_random, job.k + chunk_index, v * lanes),
                                 vecs.outer);
        acc[v] = hn::Zero(dd);
      }
      until_outer = spec.chunk;
      ++chunk_index;
    }
  }
  const uint64_t last = job.steps - 1;  // the result rounding's step
  if (!vecs.result.identity && R == Rounding::kStochastic)
    s.outer_random.Fill(job, row, n0, columns, last, 1);
  HWY_ALIGN double result[kV * HWY_MAX_BYTES / sizeof(double)];
  for (size_t v = 0; v < kV; ++v) {
    const VD sum = chunked ? out[v] : acc[v];
    hn::Store(vecs.result.identity
                  ? sum
                  : RoundDoubles<R>(sum, StepBits<R>(s.outer_random, last, v * lanes), vecs.result),
              dd, result + v * lanes);
  }
  for (size_t i = 0; i < w; ++i) job.c[row * job.n + n0 + i] = float(result[i]);
}

template <Rounding R, size_t kV>
void SequentialOrChunkedVectors(const MatmulJob& job, size_t row, size_t n0, size_t w, Scratch& s) {
  if (job.product.identity)
    SequentialOrChunkedLoop<R, true, kV>(job, row, n0, w, s);
  else
    SequentialOrChunkedLoop<R, false, kV>(job, row, n0, w, s);
}

// A task of `columns` columns: a whole block or, past the last whole block, one tile.
template <Rounding R>
void SequentialOrChunked(const MatmulJob& job, size_t row, size_t n0, size_t w, size_t columns,
                         Scratch& s) {
  if constexpr (kTileVectors < kVectors) {
    if (columns == kRandomTile)
      return SequentialOrChunkedVectors<R, kTileVectors>(job, row, n0, w, s);
  }
  SequentialOrChunkedVectors<R, kVectors>(job, row, n0, w, s);
}

// The oracle's pairwise order, streamed: level by level it adds neighbours (2i, 2i + 1) and
// carries an odd last element up unrounded, so element i of level L sums leaves [i 2^L,
// (i + 1) 2^L) and its addition is step level_first[L] + i / 2. The leaves are taken in order on
// a stack of at most one node per level (a binary counter): two nodes of one level are siblings
// and add at once; at the end the rest add from the top down, the smaller node being the carried
// last element of the larger one's level. O(log K) partial sums per thread instead of K.
template <Rounding R>
void Pairwise(const MatmulJob& job, size_t row, size_t n0, size_t w, size_t columns, Scratch& s) {
  const DD dd;
  const size_t lanes = hn::Lanes(dd);
  const size_t k = job.k;
  float* c_row = job.c + row * job.n + n0;
  if (k == 0) {
    std::fill(c_row, c_row + w, 0.0f);
    return;
  }
  const JobVecs vecs(job);
  if (s.level_first.empty()) {  // the same for every task of the job
    uint64_t first = k;
    for (size_t len = k; len > 1; len = len / 2 + len % 2) {
      s.level_first.push_back(first);
      first += len / 2;
    }
    s.level_first.push_back(first);  // the end of the last level: the result's step
    s.level_random.resize(s.level_first.size() - 1);
  }
  const size_t levels = s.level_random.size();
  const uint64_t step = s.level_first.back();
  for (TileRandom& random : s.level_random) random.Clear();
  s.tree.resize((levels + 2) * columns);
  double* tree = s.tree.data();
  std::vector<PairwiseNode>& nodes = s.nodes;
  nodes.clear();
  // The top node (the right one, carried up to the left's level if lower) onto the one below.
  const auto add_top_two = [&] {
    PairwiseNode& left = nodes[nodes.size() - 2];
    const size_t level = left.level;
    const uint64_t at = s.level_first[level] + ((left.first_leaf >> level) >> 1);
    TileRandom& random = s.level_random[level];
    if (R == Rounding::kStochastic)
      random.Cover(job, row, n0, columns, at, s.level_first[level + 1]);
    double* sum = tree + (nodes.size() - 2) * columns;
    const double* right = sum + columns;
    for (size_t v = 0; v < columns; v += lanes)
      hn::StoreU(RoundDoubles<R>(hn::Add(hn::LoadU(dd, sum + v), hn::LoadU(dd, right + v)),
                                 StepBits<R>(random, at, v), vecs.acc),
                 dd, sum + v);
    ++left.level;
    nodes.pop_back();
  };
  const float* a_row = job.a + row * k;
  for (size_t j = 0; j < k; ++j) {                        // leaves: R(t_j)
    const double* b_row = s.Row(job, n0, w, columns, j);  // the leaves' cost hides the check
    if (R == Rounding::kStochastic) s.random.Cover(job, row, n0, columns, j, k);
    const VD a = hn::Set(dd, double(a_row[j]));
    double* leaf = tree + nodes.size() * columns;
    for (size_t v = 0; v < columns; v += lanes)
      hn::StoreU(RoundDoubles<R>(Term(vecs, a, b_row, v), StepBits<R>(s.random, j, v), vecs.acc),
                 dd, leaf + v);
    nodes.push_back({0, j});
    while (nodes.size() >= 2 && nodes[nodes.size() - 2].level == nodes.back().level) add_top_two();
  }
  while (nodes.size() >= 2) add_top_two();
  if (!vecs.result.identity) {  // the last step
    if (R == Rounding::kStochastic) s.random.Cover(job, row, n0, columns, step, step + 1);
    for (size_t v = 0; v < columns; v += lanes)
      hn::StoreU(
          RoundDoubles<R>(hn::LoadU(dd, tree + v), StepBits<R>(s.random, step, v), vecs.result), dd,
          tree + v);
  }
  for (size_t i = 0; i < w; ++i) c_row[i] = float(tree[i]);
}

template <Rounding R>
void MatmulRounding(const MatmulJob& job) {
  const bool pairwise = job.spec->order == SumOrder::kPairwise;
  // Whole blocks of `wide` columns, then the rest in tiles of `narrow` columns.
  const size_t wide = SequentialColumns(), narrow = kRandomTile;
  const size_t whole = job.n / wide, tail = job.n - whole * wide;
  const size_t blocks = whole + (tail + narrow - 1) / narrow;
  const int64_t tasks = int64_t(blocks * job.m);
#pragma omp parallel if (tasks > 1)
  {
    Scratch s;
    // Task t: column block t / M, row t % M, so a thread's consecutive tasks reuse B's block.
    // Dynamic: a tail tile's task costs a quarter of a whole block's, and rows whose sums fall
    // below the smallest normal cost more (static took 10% longer on the MLP's step). Each
    // element's result does not depend on which thread computes it.
#pragma omp for schedule(dynamic, 4)
    for (int64_t t = 0; t < tasks; ++t) {
      const size_t block = size_t(t) / job.m, row = size_t(t) % job.m;
      const size_t columns = block < whole ? wide : narrow;
      const size_t n0 = block < whole ? block * wide : whole * wide + (block - whole) * narrow;
      const size_t w = std::min(columns, job.n - n0);
      s.random.Clear();
      if (pairwise)
        Pairwise<R>(job, row, n0, w, columns, s);
      else
        SequentialOrChunked<R>(job, row, n0, w, columns, s);
    }
  }
}

void MatmulImpl(const MatmulJob& job) {
  switch (job.spec->rounding) {
    case Rounding::kNearest:
      return MatmulRounding<Rounding::kNearest>(job);
    case Rounding::kStochastic:
      return MatmulRounding<Rounding::kStochastic>(job);
    case Rounding::kZero:
      return MatmulRounding<Rounding::kZero>(job);
    case Rounding::kUp:
      return MatmulRounding<Rounding::kUp>(job);
    case Rounding::kDown:
      return MatmulRounding<Rounding::kDown>(job);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace swalp::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace swalp::detail {

HWY_EXPORT(MatmulImpl);

bool matmul_fast(const AccumulateSpec& spec, const AccumulateRules& rules, const float* a,
                 const float* b, float* c, size_t m, size_t n, size_t k) {
  const auto simd = [](const AccumulatorRule& r) {
    return r.kind == AccumulatorRule::Kind::kExact || r.kind == AccumulatorRule::Kind::kFloat;
  };
  if (!simd(rules.acc) || !simd(rules.product) || !simd(rules.outer) || !simd(rules.result))
    return false;
  if (m == 0 || n == 0) return true;
  MatmulJob job{&spec,
                double_round(rules.acc),
                double_round(rules.product),
                double_round(rules.outer),
                double_round(rules.result),
                a,
                b,
                c,
                m,
                n,
                k,
                rules.steps};
  HWY_DYNAMIC_DISPATCH(MatmulImpl)(job);
  return true;
}

}  // namespace swalp::detail
#endif
