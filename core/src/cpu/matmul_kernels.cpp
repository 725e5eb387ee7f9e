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
  return d;
}

struct MatmulJob {
  const AccumulateSpec* spec;
  DoubleRound acc, product, outer;
  const float* a;
  const float* b;
  float* c;
  size_t m, n, k;
};

constexpr size_t kMatmulColumns = 64;  // output columns per task (sequential, chunked)
constexpr size_t kPairwiseColumns = 16;

}  // namespace swalp::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace swalp::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;
using DI64 = hn::RebindToSigned<DD>;
using VD = hn::Vec<DD>;

// Rounds the lanes of x to the rule; `random24` holds the lanes' 24 compared bits (stochastic).
template <Rounding R>
HWY_INLINE VD RoundDoubles(VD x, const int32_t* random24, const DoubleRound& c) {
  if (c.identity) return x;
  const DD dd;
  const DI64 di;
  const auto bits = hn::BitCast(di, x);
  const auto sign = hn::And(bits, hn::Set(di, int64_t(0x8000000000000000ull)));
  const auto abs = hn::Xor(bits, sign);
  const auto mask = hn::Set(di, c.mask);
  hn::Vec<DI64> y;
  if constexpr (R == Rounding::kNearest) {  // ties to an even last kept bit
    const auto odd = hn::And(hn::ShiftRightSame(abs, c.drop), hn::Set(di, 1));
    y = hn::AndNot(mask, hn::Add(abs, hn::Add(hn::Set(di, c.mask >> 1), odd)));
  } else if constexpr (R == Rounding::kZero) {
    y = hn::AndNot(mask, abs);
  } else if constexpr (R == Rounding::kStochastic) {
    // Up iff u < rem / 2^drop * 2^24, i.e. (u << (drop - 24)) < rem (drop >= 29).
    const hn::Rebind<int32_t, DD> d32;
    const auto u = hn::PromoteTo(di, hn::LoadU(d32, random24));
    y = hn::AndNot(mask, hn::Add(abs, hn::Sub(mask, hn::ShiftLeftSame(u, c.drop - 24))));
  } else {  // up / down: the magnitude goes away from zero on one side
    const auto negative = hn::Ne(sign, hn::Zero(di));
    const auto away = hn::AndNot(mask, hn::Add(abs, mask));
    const auto toward = hn::AndNot(mask, abs);
    y = R == Rounding::kUp ? hn::IfThenElse(negative, toward, away)
                           : hn::IfThenElse(negative, away, toward);
  }
  const auto is_zero = hn::Eq(abs, hn::Zero(di));
  const auto fast = hn::Or(is_zero, hn::And(hn::Not(hn::Lt(abs, hn::Set(di, c.min_normal_bits))),
                                            hn::Not(hn::Gt(y, hn::Set(di, c.max_bits)))));
  VD result = hn::BitCast(dd, hn::Or(y, sign));
  if (c.unsigned_zero) result = hn::IfThenElse(hn::RebindMask(dd, is_zero), hn::Zero(dd), result);
  if (HWY_UNLIKELY(!hn::AllTrue(dd, hn::RebindMask(dd, fast)))) {
    constexpr size_t kMax = HWY_MAX_BYTES / sizeof(double);
    HWY_ALIGN double xs[kMax], ys[kMax];
    HWY_ALIGN int64_t ok[kMax];
    hn::Store(x, dd, xs);
    hn::Store(result, dd, ys);
    hn::Store(hn::VecFromMask(di, fast), di, ok);
    for (size_t i = 0; i < hn::Lanes(dd); ++i)
      if (!ok[i])
        ys[i] = round_accumulator(c.rule, xs[i], R, random24 ? uint32_t(random24[i]) << 8 : 0u);
    result = hn::Load(dd, ys);
  }
  return result;
}

// Per-thread buffers of one task.
struct Scratch {
  std::vector<double> acc, out, tree;
  std::vector<float> b_row;
  std::vector<int32_t> random;
  explicit Scratch(size_t columns)
      : acc(columns), out(columns), b_row(columns), random(columns + HWY_MAX_BYTES / 4) {}
};

// The random bits of rounding `step` for `w` columns from (row, n0); zero past w.
HWY_INLINE void StepRandom(const MatmulJob& job, uint64_t step, size_t row, size_t n0, size_t w,
                           Scratch& s) {
  const AccumulateSpec& spec = *job.spec;
  const uint64_t mn = uint64_t(job.m) * job.n;
  FillStochasticRandom24(spec.seed, spec.stream, step * mn + row * job.n + n0, w,
                         spec.stochastic_bits, s.random.data());
  std::fill(s.random.begin() + w, s.random.end(), 0);
}

// Row `row` of B's block for step j: straight from B when the block is whole, else padded.
HWY_INLINE const float* BRow(const MatmulJob& job, size_t j, size_t n0, size_t w, size_t columns,
                             Scratch& s) {
  const float* src = job.b + j * job.n + n0;
  if (w == columns) return src;
  std::copy(src, src + w, s.b_row.begin());
  return s.b_row.data();
}

// The exact (or product-rounded) terms a * B[j][n0 + v*lanes ...] as double lanes.
HWY_INLINE VD Term(const MatmulJob& job, VD a, const float* b_row, size_t v) {
  const DD dd;
  const hn::Rebind<float, DD> df;
  const VD p = hn::Mul(a, hn::PromoteTo(dd, hn::LoadU(df, b_row + v)));
  return RoundDoubles<Rounding::kNearest>(p, nullptr, job.product);
}

template <Rounding R>
void SequentialOrChunked(const MatmulJob& job, size_t row, size_t n0, size_t w, Scratch& s) {
  const DD dd;
  const size_t lanes = hn::Lanes(dd), columns = kMatmulColumns;
  const AccumulateSpec& spec = *job.spec;
  const bool chunked = spec.order == SumOrder::kChunked;
  std::fill(s.acc.begin(), s.acc.end(), 0.0);
  std::fill(s.out.begin(), s.out.end(), 0.0);
  const float* a_row = job.a + row * job.k;
  uint64_t chunk_index = 0;
  for (size_t j = 0; j < job.k; ++j) {
    const float* b_row = BRow(job, j, n0, w, columns, s);
    if (R == Rounding::kStochastic) StepRandom(job, j, row, n0, w, s);
    const VD a = hn::Set(dd, double(a_row[j]));
    for (size_t v = 0; v < columns; v += lanes) {
      const VD sum = hn::Add(hn::LoadU(dd, s.acc.data() + v), Term(job, a, b_row, v));
      hn::StoreU(RoundDoubles<R>(sum, s.random.data() + v, job.acc), dd, s.acc.data() + v);
    }
    if (chunked && ((j + 1) % spec.chunk == 0 || j + 1 == job.k)) {
      if (R == Rounding::kStochastic) StepRandom(job, job.k + chunk_index, row, n0, w, s);
      for (size_t v = 0; v < columns; v += lanes) {
        const VD sum = hn::Add(hn::LoadU(dd, s.out.data() + v), hn::LoadU(dd, s.acc.data() + v));
        hn::StoreU(RoundDoubles<R>(sum, s.random.data() + v, job.outer), dd, s.out.data() + v);
        hn::StoreU(hn::Zero(dd), dd, s.acc.data() + v);
      }
      ++chunk_index;
    }
  }
  const std::vector<double>& result = chunked ? s.out : s.acc;
  for (size_t i = 0; i < w; ++i) job.c[row * job.n + n0 + i] = float(result[i]);
}

template <Rounding R>
void Pairwise(const MatmulJob& job, size_t row, size_t n0, size_t w, Scratch& s) {
  const DD dd;
  const size_t lanes = hn::Lanes(dd), columns = kPairwiseColumns;
  const size_t k = job.k;
  float* c_row = job.c + row * job.n + n0;
  if (k == 0) {
    std::fill(c_row, c_row + w, 0.0f);
    return;
  }
  s.tree.resize(k * columns);
  double* tree = s.tree.data();
  const float* a_row = job.a + row * k;
  for (size_t j = 0; j < k; ++j) {  // leaves: R(t_j)
    const float* b_row = BRow(job, j, n0, w, columns, s);
    if (R == Rounding::kStochastic) StepRandom(job, j, row, n0, w, s);
    const VD a = hn::Set(dd, double(a_row[j]));
    for (size_t v = 0; v < columns; v += lanes)
      hn::StoreU(RoundDoubles<R>(Term(job, a, b_row, v), s.random.data() + v, job.acc), dd,
                 tree + j * columns + v);
  }
  uint64_t step = k;
  for (size_t len = k; len > 1;) {
    const size_t half = len / 2;
    for (size_t i = 0; i < half; ++i, ++step) {
      if (R == Rounding::kStochastic) StepRandom(job, step, row, n0, w, s);
      for (size_t v = 0; v < columns; v += lanes) {
        const VD sum = hn::Add(hn::LoadU(dd, tree + 2 * i * columns + v),
                               hn::LoadU(dd, tree + (2 * i + 1) * columns + v));
        hn::StoreU(RoundDoubles<R>(sum, s.random.data() + v, job.acc), dd, tree + i * columns + v);
      }
    }
    if (len % 2) std::copy(tree + (len - 1) * columns, tree + len * columns, tree + half * columns);
    len = half + len % 2;
  }
  for (size_t i = 0; i < w; ++i) c_row[i] = float(tree[i]);
}

template <Rounding R>
void MatmulRounding(const MatmulJob& job) {
  const bool pairwise = job.spec->order == SumOrder::kPairwise;
  const size_t columns = pairwise ? kPairwiseColumns : kMatmulColumns;
  const size_t blocks = (job.n + columns - 1) / columns;
  const int64_t tasks = int64_t(blocks * job.m);
#pragma omp parallel if (tasks > 1)
  {
    Scratch s(columns);
    // Task t: column block t / M, row t % M, so a thread's consecutive tasks reuse B's block.
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tasks; ++t) {
      const size_t block = size_t(t) / job.m, row = size_t(t) % job.m;
      const size_t n0 = block * columns, w = std::min(columns, job.n - n0);
      if (pairwise)
        Pairwise<R>(job, row, n0, w, s);
      else
        SequentialOrChunked<R>(job, row, n0, w, s);
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

bool matmul_fast(const AccumulateSpec& spec, const float* a, const float* b, float* c, size_t m,
                 size_t n, size_t k) {
  const AccumulateRules rules = accumulate_rules(spec);
  const auto simd = [](const AccumulatorRule& r) {
    return r.kind == AccumulatorRule::Kind::kExact || r.kind == AccumulatorRule::Kind::kFloat;
  };
  if (!simd(rules.acc) || !simd(rules.product) || !simd(rules.outer)) return false;
  if (m == 0 || n == 0) return true;
  MatmulJob job{&spec,
                double_round(rules.acc),
                double_round(rules.product),
                double_round(rules.outer),
                a,
                b,
                c,
                m,
                n,
                k};
  HWY_DYNAMIC_DISPATCH(MatmulImpl)(job);
  return true;
}

}  // namespace swalp::detail
#endif
