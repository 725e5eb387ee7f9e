// dt8 fast path: per-scope absmax, then a binary search of the 128 magnitudes per element.
// Scalar with OpenMP: the code table is not a power-of-two grid, so there is no bit trick.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/kernel_params.h"
#include "swalp/codes.h"
#include "swalp/error.h"
#include "swalp/rng.h"

namespace swalp::detail {

void quantize_dynamic_tree(const Format& format, Rounding rounding, uint64_t seed, uint64_t stream,
                           uint64_t index_offset, const ScopeLayout& layout, const float* in,
                           float* out) {
  const size_t n = layout.n;
  std::vector<uint32_t> absmax(layout.num_scopes(), 0);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, in + i, sizeof bits);
    uint32_t& m = absmax[layout.scope_of(i)];
    m = std::max(m, bits & 0x7fffffffu);
  }
  for (uint32_t m : absmax)
    if (m == 0x7f800000u)
      throw InvalidInput("format " + format.spelling +
                         " cannot encode Inf: a scope holds an infinite value");
  const auto& table = dt8_magnitudes();
  // Lower neighbour lookup: normalized magnitudes are in [0, 1]; the top 16 bits of a float
  // (exponent and 7 mantissa bits) pick a bucket holding at most a couple of table entries.
  static const std::vector<uint8_t> bucket_floor = [&table] {
    std::vector<uint8_t> floor_index((0x3f800000u >> 16) + 1);
    for (uint32_t bucket = 0; bucket < floor_index.size(); ++bucket) {
      const uint32_t first_bits = bucket << 16;
      float first;
      std::memcpy(&first, &first_bits, sizeof first);
      uint8_t j = 0;
      while (j + 1 < int(table.size()) && table[j + 1] <= first) ++j;
      floor_index[bucket] = j;
    }
    return floor_index;
  }();
#pragma omp parallel for schedule(static) if (n > 8 * kChunk)
  for (size_t i = 0; i < n; ++i) {
    const uint32_t m_bits = absmax[layout.scope_of(i)];
    if (m_bits > 0x7f800000u) {
      out[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    if (m_bits == 0) {
      out[i] = in[i];
      continue;
    }
    float m;
    std::memcpy(&m, &m_bits, sizeof m);
    const float x = in[i];
    const bool negative = std::signbit(x);
    const float normalized = std::fabs(x) / m;
    uint32_t normalized_bits;
    std::memcpy(&normalized_bits, &normalized, sizeof normalized_bits);
    size_t lower = bucket_floor[normalized_bits >> 16];
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
          up = double(philox_bits(seed, stream, index_offset + i) >> 8) <
               below / (below + above) * 16777216.0;
          break;
      }
      pick = up ? hi : hi - 1;
    }
    out[i] = std::copysign(table[pick] * m, x);
  }
}

}  // namespace swalp::detail
