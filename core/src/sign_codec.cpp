#include "sign_codec.h"

#include <algorithm>
#include <cstring>

namespace swalp::detail {

void encode_sign1(const float* values, size_t n, size_t block, uint8_t* codes, float* scales) {
  std::memset(codes, 0, (n + 7) / 8);
  for (size_t begin = 0, b = 0; begin < n; begin += block, ++b) {
    const size_t end = std::min(n, begin + block);
    double positive = 0, negative = 0;  // sums in double: the means do not depend on the order
    size_t positives = 0;
    for (size_t i = begin; i < end; ++i) {
      if (values[i] >= 0) {
        positive += values[i];
        ++positives;
        codes[i >> 3] |= uint8_t(1u << (i & 7));
      } else {
        negative += values[i];
      }
    }
    const size_t negatives = end - begin - positives;
    scales[2 * b] = positives ? float(positive / double(positives)) : 0.0f;
    scales[2 * b + 1] = negatives ? float(negative / double(negatives)) : 0.0f;
  }
}

void decode_sign1(const uint8_t* codes, const float* scales, size_t n, size_t block, float* out,
                  bool accumulate) {
  for (size_t begin = 0, b = 0; begin < n; begin += block, ++b) {
    const size_t end = std::min(n, begin + block);
    const float positive = scales[2 * b], negative = scales[2 * b + 1];
    for (size_t i = begin; i < end; ++i) {
      const float v = (codes[i >> 3] >> (i & 7)) & 1 ? positive : negative;
      out[i] = accumulate ? out[i] + v : v;
    }
  }
}

}  // namespace swalp::detail
