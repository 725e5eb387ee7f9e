// Packed 8-bit codecs for compressing messages (gradients, activations): uint8 codes plus one
// float32 scale (the absolute maximum) per block. Every codec is sign-magnitude: bit 7 is the
// sign, bits 6..0 pick one of at most 128 magnitudes in [0, 1] of the value / scale.
//   dt8      dynamic tree (Dettmers 2016; codes.h): 10^-k decades, 127 magnitudes 1e-6..1
//   st8      static tree: 3 bits decimal exponent e (10^-e, e = 0..7), 4 bits linear fraction
//            f, magnitude 10^-e (0.1 + 0.9 (f + 1) / 16); code 0 is zero (127 magnitudes)
//   int8     linear: magnitude k / 127, k = 0..127 in bits 6..0 (not two's complement)
//   fp8e4m3  OCP E4M3 bit patterns, magnitudes / 448 (absmax maps to the format's max)
//   fp8e5m2  OCP E5M2 bit patterns (finite), magnitudes / 57344
// Rounding to the neighbouring magnitudes: nearest (ties to the even table index) or
// stochastic (up iff the top 24 Philox bits of (seed, stream, index) < fraction * 2^24).
//   sign1    one bit per value (its sign) and two float32 scales per block, the means of the
//            block's non-negative and of its negative values (Seide et al. 2014); codes pack 8
//            values per byte. Biased: use it with error feedback. No stochastic form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace swalp {

enum class CodecKind { kDynamicTree, kStaticTree, kLinear8, kFp8E4M3, kFp8E5M2, kSign1 };

struct Codec {
  CodecKind kind;
  std::string name;
  // Non-negative magnitudes, ascending, [0] = 0 and back() = 1, with their 7-bit codes.
  std::vector<float> magnitudes;
  std::vector<uint8_t> codes;
  float by_code[128];  // magnitude of each 7-bit code (0 for unused codes)
  // Tables over the buckets of v = |x| / scale in [0, 1] by the top 16 bits of v (0..0x3f80);
  // every bucket is narrower than the gaps between magnitudes (checked when built), so it holds
  // at most one magnitude and one rounding midpoint.
  //   bucket_start: the largest index whose magnitude is at most the bucket's smallest float
  //   nearest: nearest rounding in one word, t | below << 16 | above << 24: the code bytes
  //     below and above, and t, the low 16 bits of the bucket's first float that rounds to
  //     `above` (above == below where none does); indexed by the top 16 bits of the signed v,
  //     so keys from 0x8000 hold the negative buckets with the sign bit in their codes
  std::vector<uint8_t> bucket_start;
  std::vector<int32_t> nearest;
};

// "dt8" | "st8" | "int8" | "fp8e4m3" | "fp8e5m2" | "sign1"; throws InvalidInput naming the
// accepted ones. sign1's tables are empty (it has no magnitudes).
const Codec& codec_by_name(const std::string& name);
const std::vector<std::string>& codec_names();

// The bytes of codes and the number of scales a message of n values has: one code byte per
// value and one scale per block for the 8-bit codecs; (n + 7) / 8 bytes and two scales per
// block for sign1. `block` 0 is one block for the whole message.
size_t encoded_code_bytes(const Codec& codec, size_t n);
size_t encoded_scale_count(const Codec& codec, size_t n, size_t block);

struct EncodedMessage {
  std::vector<uint8_t> codes;  // one per value (sign1: one bit per value)
  std::vector<float> scales;   // one per block, the block's absolute maximum (sign1: two)
  size_t block = 0;            // values per block (the last block may be shorter)
  size_t values = 0;           // values encoded
  size_t wire_bytes() const { return codes.size() + 4 * scales.size(); }
};

struct EncodeOptions {
  size_t block = 0;  // values per scale; 0 = one scale for the whole message
  bool stochastic = false;
  uint64_t seed = 0, stream = 0;
};

// Throws InvalidInput for NaN or Inf values (a scale cannot represent them), and for stochastic
// sign1 (it has no stochastic form). SIMD table lookups,
// split over the OpenMP threads; the codes do not depend on the thread count.
void encode(const Codec& codec, const float* values, size_t n, const EncodeOptions& options,
            EncodedMessage& out);
// The scalar oracle of encode: a binary search for each value's neighbours, one at a time.
void encode_reference(const Codec& codec, const float* values, size_t n,
                      const EncodeOptions& options, EncodedMessage& out);
void decode(const Codec& codec, const EncodedMessage& message, float* out);
// The same on raw arrays: n codes, one scale per `block` values. With `accumulate`, adds the
// decoded values to out[i] instead of storing them (to sum messages without a copy).
void decode(const Codec& codec, const uint8_t* codes, const float* scales, size_t n, size_t block,
            float* out, bool accumulate = false);

struct CodecErrorStats {
  double mean_absolute_error = 0;
  double mean_relative_error = 0;  // over the non-zero inputs
  double sqnr_db = 0;              // 10 log10(sum x^2 / sum (x - q)^2)
};
CodecErrorStats codec_error_stats(const Codec& codec, const std::vector<float>& values,
                                  const EncodeOptions& options);

}  // namespace swalp
