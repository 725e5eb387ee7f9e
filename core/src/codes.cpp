#include "swalp/codes.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace swalp {

namespace {

// (magnitude, code) for the 128 non-negative codes, sorted by magnitude.
const std::vector<std::pair<float, uint8_t>>& dt8_sorted() {
  static const std::vector<std::pair<float, uint8_t>> table = [] {
    std::vector<std::pair<float, uint8_t>> entries = {{0.0f, 0}};
    for (int k = 0; k <= 6; ++k) {
      const int fraction_bits = 6 - k;
      for (int f = 0; f < (1 << fraction_bits); ++f) {
        const double decade = std::pow(10.0, -k);
        const double value = decade * (0.1 + 0.9 * (f + 1) / double(1 << fraction_bits));
        const int code = (1 << fraction_bits) | f;  // indicator bit, then the fraction
        entries.emplace_back(static_cast<float>(value), static_cast<uint8_t>(code));
      }
    }
    std::sort(entries.begin(), entries.end());
    return entries;
  }();
  return table;
}

}  // namespace

const std::array<float, 128>& dt8_magnitudes() {
  static const std::array<float, 128> magnitudes = [] {
    std::array<float, 128> out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = dt8_sorted()[i].first;
    return out;
  }();
  return magnitudes;
}

uint8_t dt8_code(int index, bool negative) {
  return static_cast<uint8_t>(dt8_sorted()[index].second | (negative ? 0x80 : 0));
}

float dt8_decode(uint8_t code) {
  static const std::array<float, 128> by_code = [] {
    std::array<float, 128> out{};
    for (const auto& [value, c] : dt8_sorted()) out[c] = value;
    return out;
  }();
  const float magnitude = by_code[code & 0x7f];
  return (code & 0x80) ? -magnitude : magnitude;
}

}  // namespace swalp
