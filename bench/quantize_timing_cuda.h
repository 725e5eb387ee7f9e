// GPU timing of the quantizer (built with -DSWALP_CUDA=ON): the CUDA kernels next to a
// device-to-device copy of the same array, measured in the same run with CUDA events.
#pragma once

#include <cstddef>

#include "quantize_timing.h"

namespace swalp::bench {

// n values of fill_bench_input on the device; copy and quantize interleaved, best of the
// repetitions each. The GPU's output is compared with the CPU quantizer's bit for bit before a
// number is reported: a difference throws RuntimeFailure naming the first differing element.
// Throws RuntimeFailure when no CUDA device can be used.
QuantizeTiming time_quantize_cuda(const QuantSpec& spec, size_t n, int repetitions);

}  // namespace swalp::bench
