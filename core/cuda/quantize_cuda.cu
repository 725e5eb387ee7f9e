// CUDA kernels of quantize_cuda.h. Per element they call the oracle's own scalar rules
// (core/src/ref/scalar_rounding.h, compiled for host and device), so the GPU gives the oracle's
// bits, which the CPU kernels are tested to give too. Compiled with -fmad=false: no contraction.
#include <cuda_runtime.h>
#include <math_constants.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../src/ref/scalar_rounding.h"
#include "../src/scope_layout.h"
#include "quantize_cuda.h"
#include "swalp/codes.h"
#include "swalp/error.h"

namespace swalp::cuda {

void check(int status, const char* what) {
  const auto code = cudaError_t(status);
  if (code != cudaSuccess)
    throw RuntimeFailure(std::string("CUDA ") + what + " failed: " + cudaGetErrorString(code));
}

namespace {

// Everything a kernel needs, by value (no host pointers).
struct Params {
  int kind, scope_kind;
  Rounding rounding;
  uint64_t seed, stream, index_offset, n, cols, last_dim, block, blocks_per_row;
  detail::FloatRule element;  // kFloat, kMx float elements
  // fixed point
  double q, limit, limit_negative;
  // shared-scale formats
  int bits, posit_es;
  int stochastic_bits;       // R of stochastic:R (24: plain)
  float nvfp4_tensor_scale;  // kNvfp4: S, from the scope maxima (NaN: the tensor holds a NaN)
  detail::MxScaleParams mx_scale;
  bool mx_int8;
};

using detail::floor_log2;
using detail::grid_clamped;
using detail::pick_neighbour;
using detail::quantize_float_scalar;
using detail::round_to_grid;

__constant__ float c_dt8[128];

// philox4x32_10 of rng.h: the four words of block `block` of `stream` under `seed`.
__device__ void philox_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4]) {
  uint32_t c0 = uint32_t(block), c1 = uint32_t(block >> 32), c2 = uint32_t(stream),
           c3 = uint32_t(stream >> 32);
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0, p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

__device__ uint64_t scope_of(const Params& p, uint64_t i) {
  switch (p.scope_kind) {
    case int(ScopeKind::kRow):
      return i / p.cols;
    case int(ScopeKind::kCol):
      return i % p.cols;
    case int(ScopeKind::kBlock):
      return (i / p.last_dim) * p.blocks_per_row + (i % p.last_dim) / p.block;
    case int(ScopeKind::kTensor):
      return 0;
  }
  return 0;
}

// One element of a shared-scale format whose scope maximum is m (finite, > 0).
__device__ float quantize_shared(const Params& p, float in, double m, uint32_t bits) {
  const double x = in;
  const bool negative = signbit(x);
  double y = 0;
  switch (p.kind) {
    case int(FormatKind::kBlockFloat): {
      const double q = ldexp(1.0, floor_log2(m) + 2 - p.bits);
      const double limit = (ldexp(1.0, p.bits - 1) - 1) * q;
      y = grid_clamped(x, q, limit, limit, p.rounding, bits);
      break;
    }
    case int(FormatKind::kMx): {
      const int scale_exp = detail::mx_scale_exponent(p.mx_scale, float(m));
      const double v = ldexp(x, -scale_exp);
      const double element =
          p.mx_int8 ? grid_clamped(v, 1.0 / 64, 127.0 / 64, 127.0 / 64, p.rounding, bits)
                    : quantize_float_scalar(p.element, v, p.rounding, bits);
      y = ldexp(element, scale_exp);
      break;
    }
    case int(FormatKind::kInt): {
      const float qmax = float((1 << (p.bits - 1)) - 1);
      const float scale = __fdiv_rn(float(m), qmax);
      const double t = x == 0 ? 0.0 : double(__fdiv_rn(fabsf(in), scale));
      const double k = fmin(round_to_grid(t, 1.0, p.rounding, negative, bits), double(qmax));
      y = copysign(double(__fmul_rn(float(k), scale)), x);
      break;
    }
    case int(FormatKind::kNvfp4):
      y = detail::nvfp4_element(in, detail::nvfp4_block_scale(float(m), p.nvfp4_tensor_scale),
                                p.rounding, bits);
      break;
    case int(FormatKind::kDynamicTree): {
      const float n = __fdiv_rn(fabsf(in), float(m));
      int lo = 0;
      while (lo + 1 < 128 && c_dt8[lo + 1] <= n) ++lo;
      const double picked = lo + 1 == 128 ? c_dt8[lo]
                                          : pick_neighbour(n, c_dt8[lo], c_dt8[lo + 1], lo % 2 == 0,
                                                           p.rounding, negative, bits);
      y = copysign(double(__fmul_rn(float(picked), float(m))), x);
      break;
    }
  }
  return float(y);
}

// One thread per four consecutive random indices (a Philox block's four words for plain
// stochastic; stochastic:R with R <= 16 takes its elements' halves or bytes from the block that
// holds their words, random24_from_word).
template <typename PerElement>
__device__ void for_block_of_four(const Params& p, PerElement&& f) {
  const uint64_t first_block = p.index_offset >> 2;
  const uint64_t t = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t block = first_block + t;
  uint32_t words[4] = {0, 0, 0, 0};
  const uint64_t per_word = uint64_t(detail::random_elements_per_word(p.stochastic_bits));
  if (p.rounding == Rounding::kStochastic) philox_block(p.seed, p.stream, block / per_word, words);
  for (int k = 0; k < 4; ++k) {
    const uint64_t index = block * 4 + uint64_t(k);
    if (index < p.index_offset) continue;
    const uint64_t i = index - p.index_offset;
    if (i >= p.n) break;
    const uint32_t bits =
        p.rounding == Rounding::kStochastic
            ? detail::random24_from_word(words[(index / per_word) & 3], index, p.stochastic_bits)
                  << 8
            : 0u;
    f(i, bits);
  }
}

__global__ void elementwise_kernel(Params p, const float* in, float* out) {
  for_block_of_four(p, [&](uint64_t i, uint32_t bits) {
    if (p.kind == int(FormatKind::kFloat))
      out[i] = float(quantize_float_scalar(p.element, in[i], p.rounding, bits));
    else if (p.kind == int(FormatKind::kPosit))
      out[i] = float(detail::quantize_posit_scalar(p.bits, p.posit_es, in[i], p.rounding, bits));
    else  // fixed point
      out[i] = float(grid_clamped(in[i], p.q, p.limit, p.limit_negative, p.rounding, bits));
  });
}

// Per-scope maxima of |x| as float bit patterns (NaN patterns order above Inf), one run of
// consecutive elements per thread, one atomic per scope change.
__global__ void scope_max_kernel(Params p, const float* in, unsigned int* scope_max,
                                 uint64_t per_thread) {
  const uint64_t t = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t begin = t * per_thread;
  if (begin >= p.n) return;
  const uint64_t end = begin + per_thread < p.n ? begin + per_thread : p.n;
  uint64_t scope = scope_of(p, begin);
  unsigned int best = 0;
  for (uint64_t i = begin; i < end; ++i) {
    const uint64_t s = scope_of(p, i);
    if (s != scope) {
      atomicMax(scope_max + scope, best);
      scope = s;
      best = 0;
    }
    best = max(best, __float_as_uint(in[i]) & 0x7fffffffu);
  }
  atomicMax(scope_max + scope, best);
}

__global__ void find_inf_kernel(const unsigned int* scope_max, uint64_t scopes, int* found) {
  const uint64_t s = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (s < scopes && scope_max[s] == 0x7f800000u) atomicOr(found, 1);
}

__global__ void shared_kernel(Params p, const float* in, float* out,
                              const unsigned int* scope_max) {
  for_block_of_four(p, [&](uint64_t i, uint32_t bits) {
    const unsigned int m_bits = scope_max[scope_of(p, i)];
    if (m_bits >= 0x7f800000u || p.nvfp4_tensor_scale != p.nvfp4_tensor_scale) {
      // a NaN (or, for MX, an Inf) in the scope; for NVFP4 a NaN anywhere in the tensor
      out[i] = CUDART_NAN_F;
      return;
    }
    if (m_bits == 0) {
      out[i] = in[i];
      return;
    }
    out[i] = quantize_shared(p, in[i], double(__uint_as_float(m_bits)), bits);
  });
}

Params params_of(const QuantSpec& spec, const detail::ScopeLayout& layout) {
  const Format& f = spec.format;
  Params p{};
  p.kind = int(f.kind);
  p.rounding = spec.rounding;
  p.seed = spec.seed;
  p.stream = spec.stream;
  p.index_offset = spec.index_offset;
  p.n = layout.n;
  p.scope_kind = int(layout.scope.kind);
  p.cols = layout.cols;
  p.last_dim = layout.last_dim;
  p.block = uint64_t(layout.scope.block);
  p.blocks_per_row = layout.blocks_per_row();
  p.element = detail::float_rule(f.element);
  if (f.kind == FormatKind::kFixed) {
    p.q = std::ldexp(1.0, -f.frac_bits);
    const double half_range = std::ldexp(1.0, f.bits - 1) * p.q;
    p.limit = half_range - p.q;
    p.limit_negative = half_range;
  }
  p.bits = f.bits;
  p.mx_scale = detail::mx_scale_params(f);
  p.posit_es = f.posit_es;
  p.stochastic_bits = spec.stochastic_bits;
  p.mx_int8 = f.mx_int8;
  return p;
}

void upload_tables() {
  static std::once_flag once;
  static cudaError_t status = cudaSuccess;
  std::call_once(once, [] {
    status = cudaMemcpyToSymbol(c_dt8, dt8_magnitudes().data(), sizeof(float) * 128);
  });
  check(status, "upload of the dt8 table");
}

constexpr int kThreads = 256;

unsigned int blocks_for(uint64_t threads) { return unsigned((threads + kThreads - 1) / kThreads); }

}  // namespace

bool available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

void quantize(const QuantSpec& spec, const float* in, float* out, size_t n,
              const std::vector<int64_t>& shape, void* stream_handle) {
  check_stochastic_bits(spec);
  const detail::ScopeLayout layout = detail::make_scope_layout(spec.format, n, shape);
  if (n == 0) return;
  const auto stream = static_cast<cudaStream_t>(stream_handle);
  const Params p = params_of(spec, layout);
  // Threads of for_block_of_four: the Philox blocks the element indices touch.
  const uint64_t philox_blocks = ((spec.index_offset + n + 3) >> 2) - (spec.index_offset >> 2);
  switch (spec.format.kind) {
    case FormatKind::kIdentity:
      if (in != out)
        check(cudaMemcpyAsync(out, in, n * sizeof(float), cudaMemcpyDeviceToDevice, stream),
              "copy");
      return;
    case FormatKind::kFloat:
    case FormatKind::kFixed:
    case FormatKind::kPosit:
      elementwise_kernel<<<blocks_for(philox_blocks), kThreads, 0, stream>>>(p, in, out);
      check(cudaGetLastError(), "launch of the elementwise kernel");
      return;
    case FormatKind::kBlockFloat:
    case FormatKind::kMx:
    case FormatKind::kInt:
    case FormatKind::kDynamicTree:
    case FormatKind::kNvfp4:
      break;  // the shared-scale kernels below
  }
  upload_tables();
  const uint64_t scopes = layout.num_scopes();
  unsigned int* scope_max = nullptr;
  int* found_inf = nullptr;
  check(cudaMallocAsync(&scope_max, scopes * sizeof(unsigned int) + sizeof(int), stream),
        "allocation of the scope maxima");
  found_inf = reinterpret_cast<int*>(scope_max + scopes);
  struct Free {
    unsigned int* ptr;
    cudaStream_t stream;
    ~Free() { cudaFreeAsync(ptr, stream); }
  } free_later{scope_max, stream};
  check(cudaMemsetAsync(scope_max, 0, scopes * sizeof(unsigned int) + sizeof(int), stream),
        "clearing the scope maxima");
  const uint64_t per_thread = 16;
  scope_max_kernel<<<blocks_for((n + per_thread - 1) / per_thread), kThreads, 0, stream>>>(
      p, in, scope_max, per_thread);
  check(cudaGetLastError(), "launch of the scope maximum kernel");
  if (spec.format.kind != FormatKind::kMx) {
    find_inf_kernel<<<blocks_for(scopes), kThreads, 0, stream>>>(scope_max, scopes, found_inf);
    check(cudaGetLastError(), "launch of the Inf check");
    int found = 0;
    check(cudaMemcpyAsync(&found, found_inf, sizeof found, cudaMemcpyDeviceToHost, stream),
          "copy of the Inf flag");
    check(cudaStreamSynchronize(stream), "synchronize");
    if (found)
      throw InvalidInput("format " + spec.format.spelling +
                         " cannot encode Inf: a scope holds an infinite value");
  }
  Params shared = p;
  if (spec.format.kind == FormatKind::kNvfp4) {
    // The outer scale: the maximum of the block maxima, reduced on the host.
    std::vector<unsigned int> maxima(scopes);
    check(cudaMemcpyAsync(maxima.data(), scope_max, scopes * sizeof(unsigned int),
                          cudaMemcpyDeviceToHost, stream),
          "copy of the block maxima");
    check(cudaStreamSynchronize(stream), "synchronize");
    unsigned int amax_bits = 0;
    for (unsigned int m : maxima) amax_bits = m > amax_bits ? m : amax_bits;
    float amax;
    std::memcpy(&amax, &amax_bits, sizeof amax);
    shared.nvfp4_tensor_scale = amax_bits > 0x7f800000u ? amax : detail::nvfp4_tensor_scale(amax);
  }
  shared_kernel<<<blocks_for(philox_blocks), kThreads, 0, stream>>>(shared, in, out, scope_max);
  check(cudaGetLastError(), "launch of the shared-scale kernel");
}

}  // namespace swalp::cuda
