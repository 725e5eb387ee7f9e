// The scalar rounding rules, shared by the CPU oracle (reference.cpp) and the CUDA kernels
// (quantize_cuda.cu): one definition compiled for host and device, so the GPU cannot drift from
// the oracle. Plain double arithmetic on magnitudes, explicit neighbours and tie rules; never
// optimized. Only global-namespace math functions, which both compilers provide.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "swalp/format.h"
#include "swalp/rounding.h"
#ifndef __CUDACC__
#include "swalp/rng.h"
#endif

#ifdef __CUDACC__
#define SWALP_HOST_DEVICE __host__ __device__
#else
#define SWALP_HOST_DEVICE
#endif

namespace swalp::detail {

// A float element as the scalar rules need it: plain values, no methods, copyable to a device.
struct FloatRule {
  int man_bits = 23;
  int emin = -126;             // exponent of the smallest normal; the finest step is 2^(emin-M)
  double max_finite = 0;       // largest finite magnitude
  double min_magnitude = 0;    // E8M0 has no zero: smaller results are raised to this
  bool saturate = false;       // overflow and Inf input go to +-max
  bool has_inf = true;         // else a non-saturating overflow is NaN
  bool signed_zero = true;     // FNUZ: a zero result is +0 whatever the input's sign
  bool positive_only = false;  // E8M0: zero and negative inputs are NaN
};
FloatRule float_rule(const FloatFormat& format);  // host only (format.h is not device code)

SWALP_HOST_DEVICE inline bool is_nan(double x) { return x != x; }
SWALP_HOST_DEVICE inline double quiet_nan() {
#ifdef __CUDA_ARCH__
  return __longlong_as_double(0x7ff8000000000000LL);
#else
  return __builtin_nan("");
#endif
}
SWALP_HOST_DEVICE inline bool is_inf(double x) { return fabs(x) == HUGE_VAL; }
SWALP_HOST_DEVICE inline bool sign_bit(double x) { return copysign(1.0, x) < 0; }

// `stochastic:R` (R = stochastic_bits) draws R random bits per element and forces the low
// 24 - R of the 24 bits it compares with the remainder to ones (quantize.h). For R <= 16 one
// 32-bit Philox word serves several elements, so that a Philox block (four words) serves 8
// (R 9..16) or 16 (R <= 8) elements: element i takes the half (R <= 16) or the byte (R <= 8)
// number i % per_word, counted from the word's low end, of word i / per_word.
SWALP_HOST_DEVICE inline uint32_t random24_mask(int stochastic_bits) {
  return stochastic_bits >= 24 ? 0u : (1u << (24 - stochastic_bits)) - 1u;
}
SWALP_HOST_DEVICE inline int random_elements_per_word(int stochastic_bits) {
  return stochastic_bits <= 8 ? 4 : stochastic_bits <= 16 ? 2 : 1;
}
// The 24 bits element `index` compares, from `word` = Philox word index / per_word.
SWALP_HOST_DEVICE inline uint32_t random24_from_word(uint32_t word, uint64_t index,
                                                     int stochastic_bits) {
  const uint32_t mask = random24_mask(stochastic_bits);
  switch (random_elements_per_word(stochastic_bits)) {
    case 4: {
      const uint32_t byte = (word >> (8 * (index & 3))) & 0xffu;
      return ((byte >> (8 - stochastic_bits)) << (24 - stochastic_bits)) | mask;
    }
    case 2: {
      const uint32_t half = (word >> (16 * (index & 1))) & 0xffffu;
      return ((half >> (16 - stochastic_bits)) << (24 - stochastic_bits)) | mask;
    }
    default:
      return (word >> 8) | mask;
  }
}

#ifndef __CUDACC__
// Host: the 24 bits of element `index` under stochastic:R (the CUDA kernels take the word from
// their own Philox block).
inline uint32_t stochastic_random24(uint64_t seed, uint64_t stream, uint64_t index,
                                    int stochastic_bits) {
  const uint64_t word = index / uint64_t(random_elements_per_word(stochastic_bits));
  return random24_from_word(philox_bits(seed, stream, word), index, stochastic_bits);
}
#endif

// Picks lo or hi (magnitudes, lo <= a <= hi) per the rounding mode. `lo_even` breaks nearest
// ties; `bits` are the element's 32 random bits, of which stochastic rounding uses the top 24.
SWALP_HOST_DEVICE inline double pick_neighbour(double a, double lo, double hi, bool lo_even,
                                               Rounding rounding, bool negative, uint32_t bits) {
  if (a == lo) return lo;
  switch (rounding) {
    case Rounding::kNearest:
      if (a - lo < hi - a) return lo;
      if (a - lo > hi - a) return hi;
      return lo_even ? lo : hi;
    case Rounding::kZero:
      return lo;
    case Rounding::kUp:
      return negative ? lo : hi;
    case Rounding::kDown:
      return negative ? hi : lo;
    case Rounding::kStochastic:
      return double(bits >> 8) < (a - lo) / (hi - lo) * 16777216.0 ? hi : lo;
  }
  return lo;  // unreachable: every mode is a case above (-Werror=switch)
}

// Rounds magnitude a >= 0 (finite) to a multiple of the power of two q.
SWALP_HOST_DEVICE inline double round_to_grid(double a, double q, Rounding rounding, bool negative,
                                              uint32_t bits) {
  const double steps = floor(a / q);
  const double lo = steps * q;
  return pick_neighbour(a, lo, lo + q, fmod(steps, 2.0) == 0.0, rounding, negative, bits);
}

// True when the mode carries an overflowing magnitude further from zero (IEEE: to Inf).
SWALP_HOST_DEVICE inline bool rounds_away(Rounding rounding, bool negative) {
  switch (rounding) {
    case Rounding::kZero:
      return false;
    case Rounding::kUp:
      return !negative;
    case Rounding::kDown:
      return negative;
    case Rounding::kNearest:
    case Rounding::kStochastic:
      return true;
  }
  return true;
}

SWALP_HOST_DEVICE inline int floor_log2(double a) {
  int exponent = 0;
  frexp(a, &exponent);  // a = m * 2^exponent, m in [0.5, 1)
  return exponent - 1;
}

// One value of a float format (exact arithmetic in double).
SWALP_HOST_DEVICE inline double quantize_float_scalar(const FloatRule& f, double x,
                                                      Rounding rounding, uint32_t bits) {
  const double nan = quiet_nan();
  if (is_nan(x)) return x;
  if (f.positive_only && !(x > 0)) return nan;
  const bool negative = sign_bit(x);
  const double overflow = f.has_inf ? HUGE_VAL : nan;  // a non-saturating overflow
  if (is_inf(x)) return f.saturate ? copysign(f.max_finite, x) : f.has_inf ? x : nan;
  const double a = fabs(x);
  const int exponent = a == 0 ? f.emin : (floor_log2(a) > f.emin ? floor_log2(a) : f.emin);
  double r =
      a == 0 ? 0.0 : round_to_grid(a, ldexp(1.0, exponent - f.man_bits), rounding, negative, bits);
  if (r > f.max_finite)
    r = (!f.saturate && rounds_away(rounding, negative)) ? overflow : f.max_finite;
  if (r < f.min_magnitude) r = f.min_magnitude;
  if (r == 0 && !f.signed_zero) return 0.0;
  return copysign(r, x);
}

// Largest float32 not above v (v > 0): clamps of wide fixed-point words are not all floats.
SWALP_HOST_DEVICE inline float float_at_or_below(double v) {
  float f = float(v);
  if (double(f) > v) f = nextafterf(f, 0.0f);
  return f;
}

// Fixed-point style grid: multiples of q, magnitude clamped to `limit` (or `limit_negative`).
SWALP_HOST_DEVICE inline double grid_clamped(double x, double q, double limit,
                                             double limit_negative, Rounding rounding,
                                             uint32_t bits) {
  if (is_nan(x)) return x;
  const bool negative = sign_bit(x);
  const double bound = float_at_or_below(negative ? limit_negative : limit);
  if (is_inf(x)) return copysign(bound, x);
  const double r = round_to_grid(fabs(x), q, rounding, negative, bits);
  return copysign(r < bound ? r : bound, x);
}

// Posit(n, es) (2022 Posit Standard, which fixes es = 2): sign, regime run, es exponent bits,
// fraction; one zero, NaR for NaN and Inf input. Only formats whose range lies in float32's
// normal range ((n - 2) * 2^es <= 126) are accepted (format.cpp), so every posit value is a
// float32. `nearest` rounds the infinitely precise encoding to n bits, ties to the even code,
// never to zero or NaR (below minpos gives minpos, above maxpos gives maxpos). The other modes
// pick between the two codes around |x| (zero the lower one below minpos, never NaR above
// maxpos); stochastic rounding is unbiased in value: up with probability (|x|-lo)/(hi-lo).
SWALP_HOST_DEVICE inline double quantize_posit_scalar(int n, int es, double x, Rounding rounding,
                                                      uint32_t bits) {
  if (is_nan(x) || is_inf(x)) return quiet_nan();  // NaR
  if (x == 0) return 0.0;                          // the one zero has no sign
  const bool negative = sign_bit(x);
  const double a = fabs(x);
  const int scale_max = (n - 2) * (1 << es);  // maxpos = 2^scale_max = 1 / minpos
  const double maxpos = ldexp(1.0, scale_max), minpos = ldexp(1.0, -scale_max);
  if (a >= maxpos) return copysign(maxpos, x);
  double lo = 0, hi = minpos;
  bool nearest_up = true;  // below minpos: nearest never gives zero
  if (a >= minpos) {
    const int e = floor_log2(a);
    const int k = e >= 0 ? e / (1 << es) : -((-e + (1 << es) - 1) / (1 << es));  // floor
    const int m = e - k * (1 << es);
    const int regime_bits = k >= 0 ? k + 2 : 1 - k;
    const int kept = n - 1 - regime_bits;  // encoding bits left for exponent and fraction
    // a = 2^(k 2^es) * (2^m (1 + f)); t = (m + f) * 2^52 on es + 52 bits, exact.
    const uint64_t t = uint64_t(m) << 52 | uint64_t((ldexp(a, -e) - 1.0) * 4503599627370496.0);
    const int dropped = es + 52 - kept;
    if (dropped <= 0) return x;  // every bit of a fits: exact
    const uint64_t step = uint64_t(1) << dropped, rem = t & (step - 1);
    if (rem == 0) return x;
    const uint64_t lo_t = t - rem;
    // The code's last bit: a fraction or exponent bit, or (no such bits kept) the regime's
    // terminating bit, which is 1 for k < 0.
    const bool odd = kept > 0 ? ((lo_t >> dropped) & 1) != 0 : k < 0;
    nearest_up = rem > step / 2 || (rem == step / 2 && odd);
    const double base = ldexp(1.0, k * (1 << es));
    auto value = [&](uint64_t code_t) {
      return base * ldexp(1.0 + double(code_t & ((uint64_t(1) << 52) - 1)) * 2.220446049250313e-16,
                          int(code_t >> 52));
    };
    lo = value(lo_t);
    hi = value(lo_t + step);
  }
  double r = lo;
  switch (rounding) {
    case Rounding::kNearest:
      r = nearest_up ? hi : lo;
      break;
    case Rounding::kZero:
      r = lo;
      break;
    case Rounding::kUp:
      r = negative ? lo : hi;
      break;
    case Rounding::kDown:
      r = negative ? hi : lo;
      break;
    case Rounding::kStochastic:
      // u < 2^24 (|x|-lo)/(hi-lo), cross-multiplied: exact in double (hi - lo has at most
      // 2^es + 1 significant bits, |x| - lo at most 24 + 2^es).
      r = double(bits >> 8) * (hi - lo) < (a - lo) * 16777216.0 ? hi : lo;
      break;
  }
  return r == 0 ? 0.0 : copysign(r, x);
}

// NVFP4, two-level, as torchao computes it (torchao/prototype/mx_formats/nvfp4_tensor.py:
// per_tensor_amax_to_scale and _nvfp4_quantize), every step in float32: tensor scale
// S = amax / (448 * 6); per block, amax_b / 6 / S clamped to [2^-6, 448] and rounded to E4M3;
// the element x / (S * e4m3) rounded to fp4e2m1 (saturating) and multiplied back.
SWALP_HOST_DEVICE inline FloatRule fp4e2m1_rule() {
  FloatRule r;
  r.man_bits = 1, r.emin = 0, r.max_finite = 6, r.saturate = true, r.has_inf = false;
  return r;
}
// S from the tensor's amax (finite); a scale that underflows to 0 becomes the smallest float.
SWALP_HOST_DEVICE inline float nvfp4_tensor_scale(float amax) {
  const float s = amax / 2688.0f;
  return s == 0 ? 1.40129846e-45f : s;  // NaN stays NaN
}
// S * e4m3 of a block whose amax is block_amax (finite, >= 0).
// The clamp keeps the value among E4M3's normal numbers, so its E4M3 rounding is round to
// nearest even on the float32 mantissa's top 3 bits (cheap enough for the kernels' per-block use;
// the tests compare it with the fp8e4m3 format).
SWALP_HOST_DEVICE inline float nvfp4_block_scale(float block_amax, float tensor_scale) {
  float scaled = block_amax / 6.0f / tensor_scale;
  scaled = scaled < 0.015625f ? 0.015625f : scaled > 448.0f ? 448.0f : scaled;
  uint32_t bits;
  memcpy(&bits, &scaled, sizeof bits);
  bits = (bits + 0x7ffffu + ((bits >> 20) & 1u)) & ~0xfffffu;
  memcpy(&scaled, &bits, sizeof bits);
  return tensor_scale * scaled;
}
SWALP_HOST_DEVICE inline float nvfp4_element(float x, float block_scale, Rounding rounding,
                                             uint32_t bits) {
  const float t = x / block_scale;
  return float(quantize_float_scalar(fp4e2m1_rule(), t, rounding, bits)) * block_scale;
}

// What the scale of an MX block depends on besides its amax.
struct MxScaleParams {
  MxScaleRule rule = MxScaleRule::kFloor;
  int emax = 0;       // of the element: 8 for E4M3, 0 for INT8 (1.6 fixed point)
  int man_bits = 0;   // of the element: 6 for INT8
  float max = 0;      // largest element magnitude: 448 for E4M3, 127/64 for INT8
  float inv_max = 0;  // 1 / max in float32, as torchao computes it
};
MxScaleParams mx_scale_params(const Format& format);  // host only

// floor(log2 x) and the 23 bits below the leading one of a positive finite float32, from its
// bits (subnormals normalized; no frexp, so the fast kernels call it per block of 32).
struct Float32Parts {
  int exponent;
  uint32_t mantissa;
};
SWALP_HOST_DEVICE inline Float32Parts float32_parts(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  bits &= 0x7fffffffu;
  if (bits >= 0x00800000u) return {int(bits >> 23) - 127, bits & 0x7fffffu};
  int exponent = -126;
  while (!(bits & 0x00800000u)) bits <<= 1, --exponent;  // subnormal: rare
  return {exponent, bits & 0x7fffffu};
}

// Exponent s of the E8M0 scale 2^s of an MX block whose largest magnitude is amax (finite,
// > 0), clamped to E8M0's range -127..127. The rules are defined in docs/formats.md.
SWALP_HOST_DEVICE inline int mx_scale_exponent(const MxScaleParams& p, float amax) {
  const Float32Parts a = float32_parts(amax);
  int s = 0;
  switch (p.rule) {
    case MxScaleRule::kFloor:
      s = a.exponent - p.emax;
      break;
    case MxScaleRule::kCeil:
      s = a.exponent + (a.mantissa != 0) - p.emax;
      break;
    case MxScaleRule::kEven:  // amax rounded half up to the element's mantissa bits carries out
      s = a.exponent + (a.mantissa + (1u << (22 - p.man_bits)) > 0x7fffffu) - p.emax;
      break;
    case MxScaleRule::kRceil: {
      const float descale = amax * p.inv_max;  // float32, as torchao and cuBLAS compute it
      if (descale == 0.0f) return -127;
      const Float32Parts d = float32_parts(descale);
      s = d.exponent + (d.mantissa != 0);
      break;
    }
  }
  return s < -127 ? -127 : s > 127 ? 127 : s;
}

}  // namespace swalp::detail
