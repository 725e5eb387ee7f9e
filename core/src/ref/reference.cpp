// The scalar oracle. Plain per-element arithmetic on doubles: find the two neighbours of |x| in
// the format, pick one by the rounding mode, handle range and special values. Never optimized;
// every fast path is tested against it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../scope_layout.h"
#include "swalp/codes.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "swalp/rng.h"

namespace swalp {

namespace {

constexpr double kTwo24 = 16777216.0;

struct Context {
  const QuantSpec& spec;
  uint32_t random_bits(size_t i) const {
    return spec.rounding == Rounding::kStochastic
               ? philox_bits(spec.seed, spec.stream, spec.index_offset + i)
               : 0;
  }
};

// Picks lo or hi (lo <= a <= hi, magnitudes) per the rounding mode.
// `lo_even` breaks nearest ties; `bits` are the element's 32 random bits.
double pick_neighbour(double a, double lo, double hi, bool lo_even, Rounding rounding,
                      bool negative, uint32_t bits) {
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
    case Rounding::kStochastic: {
      const double frac = (a - lo) / (hi - lo);
      return double(bits >> 8) < frac * kTwo24 ? hi : lo;
    }
  }
  return lo;
}

// Rounds magnitude a >= 0 (finite) to a multiple of the power of two q.
double round_to_grid(double a, double q, Rounding rounding, bool negative, uint32_t bits) {
  const double steps = std::floor(a / q);
  const double lo = steps * q;
  return pick_neighbour(a, lo, lo + q, std::fmod(steps, 2.0) == 0.0, rounding, negative, bits);
}

// True when the mode would carry an overflowing magnitude further from zero (IEEE: to Inf).
bool rounds_away(Rounding rounding, bool negative) {
  switch (rounding) {
    case Rounding::kZero:
      return false;
    case Rounding::kUp:
      return !negative;
    case Rounding::kDown:
      return negative;
    default:
      return true;
  }
}

int floor_log2(double a) {
  int exponent = 0;
  std::frexp(a, &exponent);  // a = m * 2^exponent, m in [0.5, 1)
  return exponent - 1;
}

// IEEE-style float format on a double input (exact arithmetic in double).
double ref_float(const FloatFormat& f, double x, Rounding rounding, uint32_t bits) {
  if (std::isnan(x)) return x;
  const bool negative = std::signbit(x);
  const double max = f.max_finite();
  if (std::isinf(x)) return f.saturate ? std::copysign(max, x) : x;
  const double a = std::fabs(x);
  if (a == 0) return x;
  const int exponent = std::max(floor_log2(a), f.emin());
  double r = round_to_grid(a, std::ldexp(1.0, exponent - f.man_bits), rounding, negative, bits);
  if (r > max)
    r = (!f.saturate && rounds_away(rounding, negative)) ? std::numeric_limits<double>::infinity()
                                                         : max;
  return std::copysign(r, x);
}

// Largest float32 not above v (v > 0): clamps of wide fixed-point words are not all floats.
double float_at_or_below(double v) {
  float f = static_cast<float>(v);
  if (double(f) > v) f = std::nextafter(f, 0.0f);
  return f;
}

// Fixed-point style grid: multiples of q, magnitude clamped to `limit` (or `limit_negative`).
double ref_grid_clamped(double x, double q, double limit, double limit_negative, Rounding rounding,
                        uint32_t bits) {
  if (std::isnan(x)) return x;
  const bool negative = std::signbit(x);
  const double bound = float_at_or_below(negative ? limit_negative : limit);
  if (std::isinf(x)) return std::copysign(bound, x);
  const double r = round_to_grid(std::fabs(x), q, rounding, negative, bits);
  return std::copysign(std::min(r, bound), x);
}

// Per-scope maximum magnitude; NaN if the scope holds a NaN, Inf if it holds an Inf (and no NaN).
std::vector<double> scope_absmax(const detail::ScopeLayout& layout, const float* in) {
  std::vector<double> absmax;
  for (size_t i = 0; i < layout.n; ++i) {
    const size_t s = layout.scope_of(i);
    if (s >= absmax.size()) absmax.resize(s + 1, 0.0);
    const double a = std::fabs(double(in[i]));
    if (std::isnan(a) || std::isnan(absmax[s]))
      absmax[s] = std::numeric_limits<double>::quiet_NaN();
    else
      absmax[s] = std::max(absmax[s], a);
  }
  return absmax;
}

void ref_shared_scale(const QuantSpec& spec, const detail::ScopeLayout& layout, const float* in,
                      float* out) {
  const Format& format = spec.format;
  const Context ctx{spec};
  const std::vector<double> absmax = scope_absmax(layout, in);
  if (format.kind != FormatKind::kMx)
    for (double m : absmax)
      if (std::isinf(m))
        throw InvalidInput("format " + format.spelling +
                           " cannot encode Inf: a scope holds an infinite value");
  std::vector<float> result(layout.n);
  for (size_t i = 0; i < layout.n; ++i) {
    const double m = absmax[layout.scope_of(i)];
    const double x = in[i];
    const uint32_t bits = ctx.random_bits(i);
    const bool negative = std::signbit(x);
    if (std::isnan(m) || std::isinf(m)) {
      result[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    if (m == 0) {
      result[i] = in[i];
      continue;
    }
    double y = 0;
    switch (format.kind) {
      case FormatKind::kBlockFloat: {
        const double q = std::ldexp(1.0, floor_log2(m) + 2 - format.bits);
        const double limit = (std::ldexp(1.0, format.bits - 1) - 1) * q;
        y = ref_grid_clamped(x, q, limit, limit, spec.rounding, bits);
        break;
      }
      case FormatKind::kMx: {
        const int scale_exp = std::clamp(floor_log2(m) - format.mx_emax, -127, 127);
        const double v = std::ldexp(x, -scale_exp);
        const double element = format.mx_int8 ? ref_grid_clamped(v, 1.0 / 64, 127.0 / 64,
                                                                 127.0 / 64, spec.rounding, bits)
                                              : ref_float(format.element, v, spec.rounding, bits);
        y = std::ldexp(element, scale_exp);
        break;
      }
      case FormatKind::kInt: {
        // Defined in float32 arithmetic, as fake-quantization is in practice.
        const float qmax = float((1 << (format.bits - 1)) - 1);
        const float scale = float(m) / qmax;
        const double t = x == 0 ? 0.0 : double(std::fabs(in[i]) / scale);
        const double k =
            std::min(round_to_grid(t, 1.0, spec.rounding, negative, bits), double(qmax));
        y = std::copysign(double(float(k) * scale), x);
        break;
      }
      case FormatKind::kDynamicTree: {
        const auto& table = dt8_magnitudes();
        const float n = std::fabs(in[i]) / float(m);
        size_t lo = 0;
        while (lo + 1 < table.size() && table[lo + 1] <= n) ++lo;
        const double picked = lo + 1 == table.size()
                                  ? table[lo]
                                  : pick_neighbour(n, table[lo], table[lo + 1], lo % 2 == 0,
                                                   spec.rounding, negative, bits);
        y = std::copysign(double(float(picked) * float(m)), x);
        break;
      }
      default:
        break;
    }
    result[i] = static_cast<float>(y);
  }
  std::copy(result.begin(), result.end(), out);
}

}  // namespace

void quantize_reference(const QuantSpec& spec, const float* in, float* out, size_t n,
                        const std::vector<int64_t>& shape) {
  const Format& format = spec.format;
  const detail::ScopeLayout layout = detail::make_scope_layout(format, n, shape);
  const Context ctx{spec};
  switch (format.kind) {
    case FormatKind::kIdentity:
      for (size_t i = 0; i < n; ++i) out[i] = in[i];
      return;
    case FormatKind::kFloat:
      for (size_t i = 0; i < n; ++i)
        out[i] =
            static_cast<float>(ref_float(format.element, in[i], spec.rounding, ctx.random_bits(i)));
      return;
    case FormatKind::kFixed: {
      const double q = std::ldexp(1.0, -format.frac_bits);
      const double half_range = std::ldexp(1.0, format.bits - 1) * q;
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(ref_grid_clamped(in[i], q, half_range - q, half_range,
                                                     spec.rounding, ctx.random_bits(i)));
      return;
    }
    default:
      ref_shared_scale(spec, layout, in, out);
  }
}

}  // namespace swalp
