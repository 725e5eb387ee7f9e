// Times the quantizer next to references measured in the same run on the same array:
// a plain memory copy (the bandwidth ceiling) and, optionally, the scalar reference loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "swalp/quantize.h"

namespace swalp::bench {

struct QuantizeTiming {
  std::string format, rounding, device = "cpu";
  int threads = 1;
  size_t n = 0;
  double gelem_s = 0;        // quantize, out of place, best of the repetitions
  double copy_gelem_s = 0;   // std::copy of the same n floats with the same threads
  double naive_gelem_s = 0;  // scalar reference loop (0 when not measured)
  double ratio() const { return copy_gelem_s > 0 ? gelem_s / copy_gelem_s : 0; }
  std::string json() const;
};

// The benchmark's input, the same on every device: a hashed ramp over [-1, 1) with a normal
// draw every 61 values (so block and tensor scopes see outliers).
void fill_bench_input(float* in, size_t n);
// Rows of 1024 where n allows, so row and col scopes have a 2-D shape; else one row.
std::vector<int64_t> bench_shape(size_t n);
// The formats the benchmarks sweep: every named format and one of each scoped family.
std::vector<std::string> bench_format_spellings();

// n float32 values from fill_bench_input; `threads` OpenMP threads (0 = all cores);
// `naive_n` > 0 also times quantize_reference on the first naive_n values.
QuantizeTiming time_quantize(const QuantSpec& spec, size_t n, int threads, int repetitions,
                             size_t naive_n = 0);

}  // namespace swalp::bench
