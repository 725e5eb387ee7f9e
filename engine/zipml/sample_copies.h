// The independent quantized copies of the samples one SGD epoch reads, in either storage:
// `independent` (one PackedSamples per copy, copies * bits bits per value) or `compact`
// (IntervalSamples: the copies share each value's interval, bits + copies bits per value).
// Both hold the same values for the same seed and copy numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zipml/interval_samples.h"
#include "zipml/packed_samples.h"

namespace swalp::zipml {

enum class Storage { kCompact, kIndependent };
Storage parse_storage(const std::string& name);  // compact | independent
std::string storage_name(Storage s);

class SampleCopies {
 public:
  SampleCopies(Storage storage, const Dataset& data, int bits, const std::vector<double>& levels,
               uint64_t seed, uint64_t first_copy, int copies);
  int64_t bytes() const;  // what one pass over all rows and copies reads
  void decode_row(int64_t i, int copy, float* out) const;
  float max_error(int64_t j) const;

 private:
  std::vector<std::unique_ptr<PackedSamples>> independent_;
  std::unique_ptr<IntervalSamples> compact_;
};

}  // namespace swalp::zipml
