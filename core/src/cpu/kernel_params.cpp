#include "kernel_params.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace swalp::detail {

namespace {
int32_t float_bits(float v) {
  int32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}
// 2^e from its bits, -149 <= e <= 127 (per scope on the hot path: no libm call).
float pow2(int e) {
  const uint32_t bits = e >= -126 ? uint32_t(e + 127) << 23 : uint32_t(1) << (e + 149);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// Splits 2^e (e <= 149 + 127) into two float factors, each a power of two in float range.
void split_pow2(int e, float& first, float& second) {
  if (e > 127) {
    first = pow2(64);
    second = pow2(e - 64);
  } else {
    first = pow2(e);
    second = 1.0f;
  }
}
}  // namespace

int floor_log2_bits(uint32_t bits) {
  if (bits >= 0x00800000u) return int(bits >> 23) - 127;
  int top = 31;
  while (!(bits >> top)) --top;
  return top - 149;
}

FloatConsts make_float_consts(const FloatFormat& f) {
  FloatConsts c{};
  c.t_exponent_bits = (127 + f.man_bits) << 23;
  // Inputs below 2^-126 are float32 subnormals, which the normal-range bit trick cannot take:
  // E8M0's smallest normal 2^-127 is rounded on the subnormal path (same grid step there).
  c.min_normal_bits = (127 + std::max(f.emin(), -126)) << 23;
  split_pow2(f.man_bits - f.emin(), c.sub_down1, c.sub_down2);
  const int up_exponent = f.emin() - f.man_bits;
  c.sub_up1 = up_exponent < -126 ? pow2(up_exponent + 64) : pow2(up_exponent);
  c.sub_up2 = up_exponent < -126 ? pow2(-64) : 1.0f;
  c.max_bits = float_bits(static_cast<float>(f.max_finite()));
  c.saturate = f.saturate;
  c.has_inf = f.has_inf();
  c.unsigned_zero = !f.has_negative_zero() && f.has_sign();
  c.positive_only = !f.has_sign();
  c.min_bits = c.positive_only ? float_bits(static_cast<float>(f.min_normal())) : 0;
  return c;
}

GridConsts make_grid_consts(int grid_exponent, float kmax_positive, float kmax_negative) {
  // Grids finer than float32's finest step change nothing; clamping keeps every factor a float.
  grid_exponent = std::max(grid_exponent, -149);
  GridConsts g;
  split_pow2(-grid_exponent, g.down1, g.down2);
  g.up = pow2(grid_exponent);
  g.kmax_positive = kmax_positive;
  g.kmax_negative = kmax_negative;
  return g;
}

float scope_kmax(const Format& format, ScopedKind kind) {
  switch (kind) {
    case ScopedKind::kBlockFloat:
      return float_at_or_below(std::ldexp(1.0, format.bits - 1) - 1);
    case ScopedKind::kInt:
      return float((1 << (format.bits - 1)) - 1);
    case ScopedKind::kMxInt8:
      return 127.0f;
    case ScopedKind::kMxFloat:
    case ScopedKind::kNvfp4:
      return 0.0f;  // unused: float elements clamp by their FloatConsts
  }
  return 0.0f;
}

ScopeParams make_scope_params(const ScopedJob& job, uint32_t absmax_bits) {
  const Format& format = job.format;
  const ScopedKind kind = job.kind;
  ScopeParams p;
  if (absmax_bits > 0x7f800000u) {
    p.action = ScopeAction::kNan;
    return p;
  }
  if (absmax_bits == 0x7f800000u) {
    p.action = (kind == ScopedKind::kMxFloat || kind == ScopedKind::kMxInt8)
                   ? ScopeAction::kNan
                   : ScopeAction::kInfError;
    return p;
  }
  if (absmax_bits == 0) {
    p.action = ScopeAction::kCopy;
    return p;
  }
  const int exponent = floor_log2_bits(absmax_bits);
  switch (kind) {
    case ScopedKind::kBlockFloat:
      p.grid = make_grid_consts(exponent + 2 - format.bits, job.kmax, job.kmax);
      break;
    case ScopedKind::kMxInt8:
    case ScopedKind::kMxFloat: {
      float absmax;
      std::memcpy(&absmax, &absmax_bits, sizeof absmax);
      const int scale_exponent = mx_scale_exponent(job.mx_scale, absmax);
      // MXINT8 elements are multiples of 2^-6; float elements are rounded by FloatConsts.
      const int grid_exponent = kind == ScopedKind::kMxInt8 ? scale_exponent - 6 : scale_exponent;
      p.grid = make_grid_consts(grid_exponent, job.kmax, job.kmax);
      break;
    }
    case ScopedKind::kInt: {
      float absmax;
      std::memcpy(&absmax, &absmax_bits, sizeof absmax);
      p.scale = absmax / job.kmax;
      p.grid.kmax_positive = p.grid.kmax_negative = job.kmax;
      break;
    }
    case ScopedKind::kNvfp4: {
      float absmax;
      std::memcpy(&absmax, &absmax_bits, sizeof absmax);
      p.scale = nvfp4_block_scale(absmax, job.nvfp4_tensor_scale);
      break;
    }
  }
  return p;
}

}  // namespace swalp::detail
