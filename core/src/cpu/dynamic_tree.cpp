// dt8 fast path: per-scope absmax, then a bucket lookup of the 128 magnitudes per element.
// Scalar with OpenMP (the code table is not a power-of-two grid, so there is no bit trick), but
// walked scope by scope: every element knows its scope without a division, and the maxima of
// contiguous scopes come from the SIMD absmax of the codec kernels.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/codec_kernels.h"
#include "cpu/dt8_kernels.h"
#include "cpu/kernel_params.h"
#include "swalp/codes.h"
#include "swalp/error.h"
#include "swalp/rng.h"

namespace swalp::detail {

namespace {

// Lower neighbour lookup: normalized magnitudes are in [0, 1]; the top 16 bits of a float
// (exponent and 7 mantissa bits) pick a bucket holding at most a couple of table entries.
const std::vector<uint8_t>& bucket_floor() {
  static const std::vector<uint8_t> floor_index = [] {
    const auto& table = dt8_magnitudes();
    std::vector<uint8_t> index((0x3f800000u >> 16) + 1);
    for (uint32_t bucket = 0; bucket < index.size(); ++bucket) {
      const uint32_t first_bits = bucket << 16;
      float first;
      std::memcpy(&first, &first_bits, sizeof first);
      uint8_t j = 0;
      while (j + 1 < int(table.size()) && table[j + 1] <= first) ++j;
      index[bucket] = j;
    }
    return index;
  }();
  return floor_index;
}

// Whether a scope maximum scales its elements: not an all-zero scope, not a NaN one.
bool scales(uint32_t m_bits) { return m_bits != 0 && m_bits < 0x7f800000u; }

float float_of_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// One element of a scope whose absolute maximum has the bit pattern m_bits.
struct ElementRounder {
  Rounding rounding;
  uint64_t seed, stream, index_offset;
  int stochastic_bits;  // R of stochastic:R
  const std::array<float, 128>& table = dt8_magnitudes();
  const std::vector<uint8_t>& floor_of = bucket_floor();

  float operator()(float x, uint32_t m_bits, size_t i) const {
    return round(x, m_bits,
                 rounding == Rounding::kStochastic
                     ? stochastic_random24(seed, stream, index_offset + i, stochastic_bits)
                     : 0u);
  }

  // The same with the element's top 24 Philox bits given (drawn in bulk by the caller).
  float round(float x, uint32_t m_bits, uint32_t random24) const {
    if (m_bits > 0x7f800000u) return std::numeric_limits<float>::quiet_NaN();
    if (m_bits == 0) return x;
    const float m = float_of_bits(m_bits);
    const bool negative = std::signbit(x);
    const float normalized = std::fabs(x) / m;
    uint32_t normalized_bits;
    std::memcpy(&normalized_bits, &normalized, sizeof normalized_bits);
    size_t lower = floor_of[normalized_bits >> 16];
    while (lower + 1 < table.size() && table[lower + 1] <= normalized) ++lower;
    const size_t hi = lower + 1;  // first magnitude above `normalized`
    size_t pick = hi - 1;
    if (hi < table.size() && table[pick] != normalized) {
      const double below = double(normalized) - table[hi - 1],
                   above = double(table[hi]) - normalized;
      bool up = false;
      switch (rounding) {
        case Rounding::kNearest:
          up = below > above || (below == above && (hi - 1) % 2 == 1);
          break;
        case Rounding::kZero:
          up = false;
          break;
        case Rounding::kUp:
          up = !negative;
          break;
        case Rounding::kDown:
          up = negative;
          break;
        case Rounding::kStochastic:
          up = double(random24) < below / (below + above) * 16777216.0;
          break;
      }
      pick = hi - 1 + size_t(up);  // no branch: stochastic decisions are unpredictable
    }
    return std::copysign(table[pick] * m, x);
  }
};

// Nearest rounding in one lookup: per bucket of the normalized magnitude's top 16 bits (at most
// one rounding midpoint in each, checked when built), one word t | below << 16 | above << 24:
// the magnitude indices below and above the midpoint and the low 16 bits of the first float
// that rounds up, found with ElementRounder itself (scale 1), so the table gives its picks by
// construction (dt8_kernels.h reads it). Empty if a bucket held two midpoints.
const std::vector<int32_t>& nearest_words() {
  static const std::vector<int32_t> words = []() -> std::vector<int32_t> {
    const ElementRounder round{Rounding::kNearest, 0, 0, 0, 24};
    const auto& table = dt8_magnitudes();
    const uint32_t one_bits = 0x3f800000u;
    const auto pick = [&](uint32_t bits) {
      float v;
      std::memcpy(&v, &bits, sizeof v);
      return uint32_t(std::lower_bound(table.begin(), table.end(), round(v, one_bits, 0)) -
                      table.begin());
    };
    std::vector<int32_t> out((one_bits >> 16) + 1);
    for (uint32_t key = 0; key < out.size(); ++key) {
      const uint32_t first = key << 16, last = key == (one_bits >> 16) ? first : first | 0xffff;
      const uint32_t below = pick(first), above = pick(last);
      if (above > below + 1) return {};
      uint32_t low = first, high = last + 1;  // the first pattern that rounds above `below`
      while (low < high) {
        const uint32_t mid = low + (high - low) / 2;
        if (pick(mid) > below)
          high = mid;
        else
          low = mid + 1;
      }
      if (low <= last && pick(last) != pick(low)) return {};
      const uint32_t threshold = low > last ? 0 : low & 0xffff;
      out[key] = int32_t(threshold | below << 16 | (low > last ? below : above) << 24);
    }
    return out;
  }();
  return words;
}

// Calls visit(begin, end, scope) for every run of consecutive elements in one scope, in
// parallel over rows (or, for one tensor-wide scope, over chunks). Column scopes interleave
// within a row: visit then gets single elements.
template <class Visit>
void for_each_run(const ScopeLayout& layout, const Visit& visit) {
  const int64_t n = int64_t(layout.n);
  const bool parallel = layout.n > 8 * kChunk;
  switch (layout.scope.kind) {
    case ScopeKind::kTensor: {
      const int64_t piece = 16 * int64_t(kChunk);
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t begin = 0; begin < n; begin += piece)
        visit(size_t(begin), size_t(std::min(n, begin + piece)), 0);
      return;
    }
    case ScopeKind::kRow: {
      const int64_t rows = int64_t(layout.rows), cols = int64_t(layout.cols);
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t r = 0; r < rows; ++r) visit(size_t(r * cols), size_t((r + 1) * cols), size_t(r));
      return;
    }
    case ScopeKind::kBlock: {
      const int64_t length = int64_t(layout.last_dim), block = layout.scope.block;
      const int64_t per_row = int64_t(layout.blocks_per_row()), rows = length == 0 ? 0 : n / length;
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < per_row; ++b) {
          const int64_t begin = r * length + b * block;
          visit(size_t(begin), size_t(std::min(begin + block, (r + 1) * length)),
                size_t(r * per_row + b));
        }
      return;
    }
    case ScopeKind::kCol: {
      const int64_t rows = int64_t(layout.rows), cols = int64_t(layout.cols);
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          visit(size_t(r * cols + c), size_t(r * cols + c + 1), size_t(c));
      return;
    }
  }
}

// Bit patterns of every scope's absolute maximum (NaN patterns above 0x7f800000).
std::vector<uint32_t> scope_maxima(const ScopeLayout& layout, const float* in) {
  std::vector<uint32_t> absmax(layout.num_scopes(), 0);
  if (layout.scope.kind == ScopeKind::kTensor) {
    uint32_t best = 0;
    const int64_t n = int64_t(layout.n), piece = 16 * int64_t(kChunk);
#pragma omp parallel for schedule(static) reduction(max : best) if (layout.n > 8 * kChunk)
    for (int64_t begin = 0; begin < n; begin += piece)
      best = std::max(best, abs_bits_max(in + begin, size_t(std::min(n - begin, piece))));
    if (!absmax.empty()) absmax[0] = best;
  } else if (layout.scope.kind == ScopeKind::kCol) {
    for (size_t r = 0; r < layout.rows; ++r)  // row by row, into every column's maximum
      for (size_t c = 0; c < layout.cols; ++c) {
        uint32_t bits;
        std::memcpy(&bits, in + r * layout.cols + c, sizeof bits);
        absmax[c] = std::max(absmax[c], bits & 0x7fffffffu);
      }
  } else {
    for_each_run(layout, [&](size_t begin, size_t end, size_t scope) {
      absmax[scope] = abs_bits_max(in + begin, end - begin);
    });
  }
  return absmax;
}

}  // namespace

void quantize_dynamic_tree(const Format& format, Rounding rounding, uint64_t seed, uint64_t stream,
                           uint64_t index_offset, int stochastic_bits, const ScopeLayout& layout,
                           const float* in, float* out) {
  const std::vector<uint32_t> absmax = scope_maxima(layout, in);
  for (uint32_t m : absmax)
    if (m == 0x7f800000u)
      throw InvalidInput("format " + format.spelling +
                         " cannot encode Inf: a scope holds an infinite value");
  const ElementRounder round{rounding, seed, stream, index_offset, stochastic_bits};
  const std::vector<int32_t>& words = nearest_words();
  if (rounding == Rounding::kNearest && !words.empty()) {
    const float* magnitudes = dt8_magnitudes().data();
    for_each_run(layout, [&](size_t begin, size_t end, size_t scope) {
      const uint32_t m_bits = absmax[scope];
      if (!scales(m_bits)) {  // zeros stay, a NaN scope becomes NaN
        for (size_t i = begin; i < end; ++i) out[i] = round(in[i], m_bits, i);
      } else if (end - begin == 1) {  // column scopes: one element per run, no kernel call
        out[begin] = dt8_nearest_one(words.data(), magnitudes, in[begin], float_of_bits(m_bits));
      } else {
        dt8_nearest(words.data(), magnitudes, in + begin, end - begin, float_of_bits(m_bits),
                    out + begin);
      }
    });
    return;
  }
  if (rounding == Rounding::kStochastic) {
    // The random bits drawn in bulk (SIMD Philox), a piece at a time: along each run, or for
    // column scopes along each row, whose elements take their columns' maxima.
    constexpr size_t kPiece = 1024;
    const auto round_piece = [&](size_t begin, size_t end, const auto& max_of) {
      int32_t random24[kPiece];
      for (size_t piece = begin; piece < end; piece += kPiece) {
        const size_t count = std::min(kPiece, end - piece);
        fill_random24(seed, stream, index_offset + piece, count, stochastic_bits, random24);
        for (size_t j = 0; j < count; ++j)
          out[piece + j] = round.round(in[piece + j], max_of(piece + j), uint32_t(random24[j]));
      }
    };
    if (layout.scope.kind == ScopeKind::kCol) {
      const int64_t rows = int64_t(layout.rows);
      const size_t cols = layout.cols;
#pragma omp parallel for schedule(static) if (layout.n > 8 * kChunk)
      for (int64_t r = 0; r < rows; ++r) {
        const size_t first = size_t(r) * cols;
        round_piece(first, first + cols, [&](size_t i) { return absmax[i - first]; });
      }
      return;
    }
    // Contiguous scopes: whole vectors through the SIMD kernel, the rest here.
    const float* magnitudes = dt8_magnitudes().data();
    for_each_run(layout, [&](size_t begin, size_t end, size_t scope) {
      const uint32_t m_bits = absmax[scope];
      size_t done = begin;
      if (scales(m_bits))
        done += dt8_stochastic(round.floor_of.data(), magnitudes, in + begin, end - begin,
                               float_of_bits(m_bits), seed, stream, index_offset + begin,
                               stochastic_bits, out + begin);
      round_piece(done, end, [m_bits](size_t) { return m_bits; });
    });
    return;
  }
  for_each_run(layout, [&](size_t begin, size_t end, size_t scope) {
    const uint32_t m_bits = absmax[scope];
    for (size_t i = begin; i < end; ++i) out[i] = round(in[i], m_bits, i);
  });
}

}  // namespace swalp::detail
