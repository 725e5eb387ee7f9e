// The scalar oracle. Plain per-element arithmetic on doubles: find the two neighbours of |x| in
// the format, pick one by the rounding mode, handle range and special values. Never optimized;
// every fast path is tested against it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "../scope_layout.h"
#include "scalar_rounding.h"
#include "swalp/codes.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "swalp/rng.h"

namespace swalp {

namespace detail {
FloatRule float_rule(const FloatFormat& format) {
  FloatRule rule;
  rule.man_bits = format.man_bits;
  rule.emin = format.emin();
  rule.max_finite = format.max_finite();
  rule.min_magnitude = format.specials == SpecialValues::kE8m0 ? format.min_normal() : 0.0;
  rule.saturate = format.saturate;
  rule.has_inf = format.has_inf();
  rule.signed_zero = format.has_negative_zero();
  rule.positive_only = !format.has_sign();
  return rule;
}

MxScaleParams mx_scale_params(const Format& format) {
  MxScaleParams p;
  p.rule = format.mx_scale;
  p.emax = format.mx_emax;
  p.man_bits = format.mx_int8 ? 6 : format.element.man_bits;
  p.max = format.mx_int8 ? 127.0f / 64 : float(format.element.max_finite());
  p.inv_max = 1.0f / p.max;
  return p;
}
}  // namespace detail

namespace {

using detail::floor_log2;
using detail::grid_clamped;
using detail::pick_neighbour;
using detail::round_to_grid;

struct Context {
  const QuantSpec& spec;
  uint32_t random_bits(size_t i) const {
    return spec.rounding == Rounding::kStochastic
               ? detail::stochastic_random24(spec.seed, spec.stream, spec.index_offset + i,
                                             spec.stochastic_bits)
                     << 8
               : 0;
  }
};

double ref_float(const FloatFormat& f, double x, Rounding rounding, uint32_t bits) {
  return detail::quantize_float_scalar(detail::float_rule(f), x, rounding, bits);
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
  // NVFP4's outer scale: the largest block maximum (a NaN in any block makes it NaN; an Inf is
  // refused below).
  float tensor_scale = 0;
  if (format.kind == FormatKind::kNvfp4) {
    double amax = 0;
    for (double m : absmax)
      if (!std::isnan(amax) && (std::isnan(m) || m > amax)) amax = m;
    tensor_scale = detail::nvfp4_tensor_scale(float(amax));
  }
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
    if (std::isnan(m) || std::isinf(m) || std::isnan(tensor_scale)) {
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
        y = grid_clamped(x, q, limit, limit, spec.rounding, bits);
        break;
      }
      case FormatKind::kMx: {
        const int scale_exp = detail::mx_scale_exponent(detail::mx_scale_params(format), float(m));
        const double v = std::ldexp(x, -scale_exp);
        const double element =
            format.mx_int8 ? grid_clamped(v, 1.0 / 64, 127.0 / 64, 127.0 / 64, spec.rounding, bits)
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
      case FormatKind::kNvfp4:
        y = detail::nvfp4_element(in[i], detail::nvfp4_block_scale(float(m), tensor_scale),
                                  spec.rounding, bits);
        break;
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
      case FormatKind::kIdentity:
      case FormatKind::kFloat:
      case FormatKind::kFixed:
      case FormatKind::kPosit:
        throw std::logic_error("ref_shared_scale: " + format.spelling + " has no shared scale");
    }
    result[i] = static_cast<float>(y);
  }
  std::copy(result.begin(), result.end(), out);
}

}  // namespace

void quantize_reference(const QuantSpec& spec, const float* in, float* out, size_t n,
                        const std::vector<int64_t>& shape) {
  check_stochastic_bits(spec);
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
        out[i] = static_cast<float>(
            grid_clamped(in[i], q, half_range - q, half_range, spec.rounding, ctx.random_bits(i)));
      return;
    }
    case FormatKind::kPosit:
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(detail::quantize_posit_scalar(
            format.bits, format.posit_es, in[i], spec.rounding, ctx.random_bits(i)));
      return;
    case FormatKind::kBlockFloat:
    case FormatKind::kMx:
    case FormatKind::kInt:
    case FormatKind::kDynamicTree:
    case FormatKind::kNvfp4:
      ref_shared_scale(spec, layout, in, out);
      return;
  }
}

}  // namespace swalp
