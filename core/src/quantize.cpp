// The entry point: validate, build the per-call constants, dispatch once to the fast kernels.
#include "swalp/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "cpu/codec_kernels.h"
#include "cpu/kernel_params.h"
#include "scope_layout.h"
#include "swalp/error.h"

namespace swalp {

namespace detail {
void run_elementwise(const ElementwiseJob& job);
bool run_scoped(const ScopedJob& job);
void quantize_dynamic_tree(const Format& format, Rounding rounding, uint64_t seed, uint64_t stream,
                           uint64_t index_offset, int stochastic_bits, const ScopeLayout& layout,
                           const float* in, float* out);
}  // namespace detail

// max |x| as float32 bits (NaN patterns order above Inf), in parallel chunks (SIMD).
static uint32_t tensor_absmax_bits(const float* in, size_t n) {
  const size_t chunks = (n + detail::kChunk - 1) / detail::kChunk;
  uint32_t best = 0;
#pragma omp parallel for schedule(static) reduction(max : best) if (chunks > 8)
  for (size_t c = 0; c < chunks; ++c) {
    const size_t begin = c * detail::kChunk;
    best = std::max(best, detail::abs_bits_max(in + begin, std::min(detail::kChunk, n - begin)));
  }
  return best;
}

// A QuantSpec built by hand may carry any stochastic_bits: refused outside 1..24.
void check_stochastic_bits(const QuantSpec& spec) {
  if (spec.stochastic_bits < 1 || spec.stochastic_bits > 24)
    throw InvalidInput("stochastic_bits = " + std::to_string(spec.stochastic_bits) +
                       " is out of range 1..24 (the R of stochastic:R)");
}

QuantSpec make_quant_spec(std::string_view format, std::string_view rounding, uint64_t seed,
                          uint64_t stream) {
  QuantSpec spec;
  spec.format = parse_format(format);
  const RoundingSpelling parsed = parse_rounding_spelling(rounding);
  spec.rounding = parsed.mode;
  spec.stochastic_bits = parsed.stochastic_bits;
  spec.seed = seed;
  spec.stream = stream;
  return spec;
}

void quantize(const QuantSpec& spec, const float* in, float* out, size_t n,
              const std::vector<int64_t>& shape) {
  using namespace detail;
  const Format& format = spec.format;
  const ScopeLayout layout = make_scope_layout(format, n, shape);
  check_stochastic_bits(spec);
  switch (format.kind) {
    case FormatKind::kIdentity:
      if (in != out) {
        // The same parallel copy that benchmarks use as their reference.
        const size_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 8)
        for (size_t c = 0; c < chunks; ++c)
          std::copy(in + c * kChunk, in + std::min(n, (c + 1) * kChunk), out + c * kChunk);
      }
      return;
    case FormatKind::kFloat:
    case FormatKind::kFixed:
    case FormatKind::kPosit: {
      ElementwiseJob job{};
      job.in = in, job.out = out, job.n = n;
      job.rounding = spec.rounding, job.seed = spec.seed, job.stream = spec.stream;
      job.index_offset = spec.index_offset;
      job.stochastic_bits = spec.stochastic_bits;
      job.kind = format.kind == FormatKind::kFloat   ? ElementwiseJob::Kind::kFloat
                 : format.kind == FormatKind::kPosit ? ElementwiseJob::Kind::kPosit
                                                     : ElementwiseJob::Kind::kGrid;
      job.posit_n = format.bits;
      job.posit_es = format.posit_es;
      if (job.kind == ElementwiseJob::Kind::kFloat) {
        job.float_consts = make_float_consts(format.element);
      } else if (job.kind == ElementwiseJob::Kind::kGrid) {
        const double half_range_steps = std::ldexp(1.0, format.bits - 1);
        job.grid = make_grid_consts(-format.frac_bits, float_at_or_below(half_range_steps - 1),
                                    float(half_range_steps));
      }
      run_elementwise(job);
      return;
    }
    case FormatKind::kDynamicTree:
      quantize_dynamic_tree(format, spec.rounding, spec.seed, spec.stream, spec.index_offset,
                            spec.stochastic_bits, layout, in, out);
      return;
    case FormatKind::kBlockFloat:
    case FormatKind::kMx:
    case FormatKind::kInt:
    case FormatKind::kNvfp4:
      break;  // the scoped kernels below
  }
  ScopedJob job{};
  job.in = in, job.out = out, job.layout = layout, job.format = format;
  job.rounding = spec.rounding, job.seed = spec.seed, job.stream = spec.stream;
  job.index_offset = spec.index_offset;
  job.stochastic_bits = spec.stochastic_bits;
  switch (format.kind) {
    case FormatKind::kBlockFloat:
      job.kind = ScopedKind::kBlockFloat;
      break;
    case FormatKind::kInt:
      job.kind = ScopedKind::kInt;
      break;
    case FormatKind::kMx:
      job.kind = format.mx_int8 ? ScopedKind::kMxInt8 : ScopedKind::kMxFloat;
      job.mx_scale = mx_scale_params(format);
      if (!format.mx_int8) job.element = make_float_consts(format.element);
      break;
    case FormatKind::kNvfp4: {
      // The outer scale needs the whole tensor's maximum first; a NaN anywhere makes it NaN.
      const uint32_t amax_bits = tensor_absmax_bits(in, n);
      if (amax_bits > 0x7f800000u) {
        std::fill(out, out + n, std::numeric_limits<float>::quiet_NaN());
        return;
      }
      float amax;
      std::memcpy(&amax, &amax_bits, sizeof amax);
      job.kind = ScopedKind::kNvfp4;
      job.element = make_float_consts(format.element);
      job.nvfp4_tensor_scale = nvfp4_tensor_scale(amax);  // Inf: the kernel refuses its block
      break;
    }
    case FormatKind::kIdentity:
    case FormatKind::kFloat:
    case FormatKind::kFixed:
    case FormatKind::kPosit:
    case FormatKind::kDynamicTree:
      throw std::logic_error("quantize: " + format.spelling + " took the scoped path");
  }
  job.kmax = scope_kmax(format, job.kind);
  if (!run_scoped(job))
    throw InvalidInput("format " + format.spelling +
                       " cannot encode Inf: a scope holds an infinite value");
}

}  // namespace swalp
