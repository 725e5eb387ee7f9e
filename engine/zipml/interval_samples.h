// Compact storage of several independent quantized copies of the samples (ZipML's double
// sampling, section 3): every copy of a value rounds to one of the same two levels, so one
// stored interval (its lower level, `bits` bits) and one up-or-down bit per copy describe them
// all: bits + copies bits per value instead of copies * bits. Copy c holds exactly the values of
// PackedSamples(data, bits, levels, seed, first_copy + c): the two storages train identically.
#pragma once

#include <cstdint>
#include <vector>

#include "zipml/packed_samples.h"

namespace swalp::zipml {

class IntervalSamples {
 public:
  IntervalSamples(const Dataset& data, int bits, const std::vector<double>& levels, uint64_t seed,
                  uint64_t first_copy, int copies);

  int copies() const { return copies_; }
  // Bytes of the whole storage: the packed lower levels and one bit per value and copy.
  int64_t bytes() const;
  // Writes copy `copy` of row i (d floats).
  void decode_row(int64_t i, int copy, float* out) const;
  float max_error(int64_t j) const { return lower_.max_error(j); }

 private:
  int64_t d_;
  int copies_;
  // Per copy, one bit per value, row-major over all rows. Declared before lower_: constructing
  // lower_ draws these bits.
  std::vector<std::vector<uint8_t>> up_;
  PackedSamples lower_;
  // While decoding (one thread): the last row's lower codes, and one copy's codes.
  mutable std::vector<uint8_t> lower_codes_, codes_;
  mutable int64_t cached_row_ = -1;
};

}  // namespace swalp::zipml
