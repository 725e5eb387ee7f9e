// Per-call and per-scope constants of the fast kernels (internal to core). Computed once per
// array or per scope on the scalar side, then broadcast into vectors: no per-element dispatch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../ref/scalar_rounding.h"
#include "../scope_layout.h"
#include "swalp/format.h"
#include "swalp/rounding.h"

namespace swalp::detail {

// Float formats, rounded on the magnitude t scaled so the grid step is 1:
// normal range: t = 1.mantissa * 2^M (exponent field replaced), subnormal range: |x| * 2^(M-emin).
struct FloatConsts {
  int32_t t_exponent_bits;     // (127 + M) << 23
  int32_t min_normal_bits;     // float32 bits of 2^emin
  float sub_down1, sub_down2;  // product 2^(M - emin), split so each factor is a float
  float sub_up1, sub_up2;      // product 2^(emin - M); each factor normal, since a subnormal
                               // operand costs a microcode assist on every lane
  int32_t max_bits;            // float32 bits of the largest finite value
  bool saturate;
  bool has_inf;        // else a non-saturating overflow (and Inf input) is NaN
  bool unsigned_zero;  // FNUZ: a zero result is +0
  bool positive_only;  // E8M0: zero and negative inputs are NaN, results at least min_bits
  int32_t min_bits;    // E8M0: float32 bits of 2^-127
};
FloatConsts make_float_consts(const FloatFormat& format);

// Power-of-two grids (fixed, bfp, MXINT8, and the MX scale): t = |x| * down1 * down2 in steps,
// k = round(t) clamped to kmax_positive / kmax_negative, y = k * up.
struct GridConsts {
  float down1 = 1, down2 = 1, up = 1;
  float kmax_positive = 0, kmax_negative = 0;
};
GridConsts make_grid_consts(int grid_exponent, float kmax_positive, float kmax_negative);
// float_at_or_below (scalar_rounding.h): clamps of wide words are not all float32 values.

// What one scope does, from its absmax (as float32 bits of the magnitude).
enum class ScopeAction : int32_t { kQuantize, kCopy, kNan, kInfError };

struct ScopeParams {
  ScopeAction action = ScopeAction::kQuantize;
  GridConsts grid;  // bfp, mx (scale), mx int8 elements
  float scale = 0;  // int:B (absmax / qmax), dt8 (absmax)
};

enum class ScopedKind { kBlockFloat, kMxFloat, kMxInt8, kInt, kNvfp4 };

struct ScopedJob {
  const float* in;
  float* out;
  ScopeLayout layout;
  ScopedKind kind;
  Format format;
  FloatConsts element;       // kMxFloat
  MxScaleParams mx_scale;    // kMxFloat, kMxInt8
  float nvfp4_tensor_scale;  // kNvfp4: S of the whole tensor (finite)
  float kmax;                // clamp in grid steps: scope_kmax(format, kind)
  Rounding rounding;
  uint64_t seed, stream, index_offset;
  int stochastic_bits;  // R of stochastic:R (24: plain)
};

// The per-format clamp of ScopedJob::kmax.
float scope_kmax(const Format& format, ScopedKind kind);

struct ElementwiseJob {
  const float* in;
  float* out;
  size_t n;
  enum class Kind { kFloat, kGrid, kPosit } kind;  // kGrid: fixed point
  int posit_n, posit_es;
  FloatConsts float_consts;
  GridConsts grid;
  Rounding rounding;
  uint64_t seed, stream, index_offset;
  int stochastic_bits;  // R of stochastic:R (24: plain)
};

// Cheap (bit arithmetic only): called once per scope, blocks of 32 included.
ScopeParams make_scope_params(const ScopedJob& job, uint32_t absmax_bits);

// floor(log2(v)) of a positive finite float32 given by its bits.
int floor_log2_bits(uint32_t bits);

// Elements per unit of parallel work and of random-number generation.
constexpr size_t kChunk = 4096;

// Elementwise outputs at least this large are written with non-temporal stores: they leave the
// caches anyway, and a streamed line is not read from memory before it is written (a plain
// store reads it first, a third of the traffic of a large quantize).
constexpr size_t kStreamBytes = size_t(64) << 20;

}  // namespace swalp::detail
