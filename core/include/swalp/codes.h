// 8-bit dynamic tree code (Dettmers, "8-Bit Approximations for Parallelism in Deep Learning",
// ICLR 2016), on values normalized to [-1, 1].
// Code byte: bit 7 sign; then k zero bits (k = 0..6, a decimal exponent 10^-k), a 1 indicator
// bit, and b = 6-k bits f of linear fraction. Magnitude = 10^-k * (0.1 + 0.9 * (f + 1) / 2^b),
// so each decade (0.1, 1] * 10^-k is split evenly and 1.0 (the absmax) is exact. Bits 6..0 all
// zero encode 0 (with the sign: +0 and -0). 127 positive magnitudes, from 1e-6 to 1.
#pragma once

#include <array>
#include <cstdint>

namespace swalp {

// The 128 non-negative dt8 magnitudes as float32, ascending: [0] = 0, [127] = 1.
const std::array<float, 128>& dt8_magnitudes();

// Float value of a code byte, in [-1, 1].
float dt8_decode(uint8_t code);

// Code byte of magnitude table entry `index` (0..127) with the given sign.
uint8_t dt8_code(int index, bool negative);

}  // namespace swalp
