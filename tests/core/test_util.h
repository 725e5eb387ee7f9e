// Helpers shared by the core tests.
#pragma once

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::test {

inline uint32_t bits_of(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
inline float float_of(uint32_t b) {
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// Bit-for-bit equality, any NaN equal to any NaN. Returns the first mismatch index or -1.
inline long first_mismatch(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (bits_of(a[i]) != bits_of(b[i])) return long(i);
  }
  return -1;
}

// Runs fast and reference quantizers on `input` and expects identical bits.
inline void expect_matches_reference(const QuantSpec& spec, const std::vector<float>& input,
                                     const std::vector<int64_t>& shape = {}) {
  std::vector<float> fast(input.size()), ref(input.size());
  quantize(spec, input.data(), fast.data(), input.size(), shape);
  quantize_reference(spec, input.data(), ref.data(), input.size(), shape);
  const long bad = first_mismatch(fast, ref);
  if (bad >= 0) {
    ADD_FAILURE() << spec.format.spelling << " " << rounding_name(spec.rounding) << ": input "
                  << input[bad] << " (0x" << std::hex << bits_of(input[bad]) << ") fast "
                  << fast[bad] << " (0x" << bits_of(fast[bad]) << ") ref " << ref[bad] << " (0x"
                  << bits_of(ref[bad]) << std::dec << ") at index " << bad;
  }
}

// Calls `body` once per SIMD target compiled into the library and supported by this CPU,
// so every target's kernels are checked against the oracle.
inline void for_each_simd_target(const std::function<void()>& body) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace swalp::test
