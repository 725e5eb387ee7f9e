#include "zipml/sample_copies.h"

#include "swalp/error.h"

namespace swalp::zipml {

Storage parse_storage(const std::string& name) {
  if (name == "compact") return Storage::kCompact;
  if (name == "independent") return Storage::kIndependent;
  throw InvalidInput("bad sample storage '" + name + "'; accepted: compact, independent");
}

std::string storage_name(Storage s) { return s == Storage::kCompact ? "compact" : "independent"; }

SampleCopies::SampleCopies(Storage storage, const Dataset& data, int bits,
                           const std::vector<double>& levels, uint64_t seed, uint64_t first_copy,
                           int copies) {
  if (storage == Storage::kCompact) {
    compact_ = std::make_unique<IntervalSamples>(data, bits, levels, seed, first_copy, copies);
    return;
  }
  for (int c = 0; c < copies; ++c)
    independent_.push_back(
        std::make_unique<PackedSamples>(data, bits, levels, seed, first_copy + uint64_t(c)));
}

int64_t SampleCopies::bytes() const {
  if (compact_) return compact_->bytes();
  int64_t total = 0;
  for (const auto& p : independent_) total += p->bytes();
  return total;
}

void SampleCopies::decode_row(int64_t i, int copy, float* out) const {
  if (compact_)
    compact_->decode_row(i, copy, out);
  else
    independent_[size_t(copy)]->decode_row(i, out);
}

float SampleCopies::max_error(int64_t j) const {
  return compact_ ? compact_->max_error(j) : independent_.front()->max_error(j);
}

}  // namespace swalp::zipml
