// Scalar table loads shared by the table-driven kernels (codec encoder, dt8 quantizer).
// Compiled for the baseline target, outside the per-target code: scalar loads beat the AVX2
// gather instruction on the machines we measured.
#pragma once

#include <cstddef>
#include <cstdint>

namespace swalp::detail {

// entries[j] = table[keys[j]].
inline void LookupEntries(const int32_t* table, const int32_t* keys, int32_t* entries, size_t n) {
#pragma GCC unroll 8
  for (size_t j = 0; j < n; ++j) entries[j] = table[keys[j]];
}

}  // namespace swalp::detail
