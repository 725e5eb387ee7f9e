// The checkpoint file format: a libtorch archive of named tensors (entry "version" first),
// followed by a 24-byte swalp trailer: "SWALPCK\0", the archive's length (8 bytes), its CRC-32
// (4 bytes) and the trailer version (4 bytes), all little-endian. The whole file is checked before
// libtorch parses any of it (its TorchScript importer crashes on some damaged archives, found by
// fuzz_checkpoint). What goes into the entries is each component's business: the optimizers and
// the averager name their own (LowPrecisionSgd/SwaAverager::state_entries), the trainer adds the
// model, generators, counters and metrics.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace swalp::engine {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The entry format: 3 adds the optimizers' own entries, the evaluation columns and the dropout
// generator; 4 the run's settings (checkpoints of other versions are refused with the versions
// named).
inline constexpr int64_t kCheckpointVersion = 4;

// Text as an entry (bytes in a uint8 tensor) and back.
at::Tensor text_entry(const std::string& text);

// Writes `entries` (and "version") to a temporary file and renames it over `path`. Throws
// RuntimeFailure when it cannot be written.
void write_checkpoint(const std::string& path, const NamedTensors& entries);

// A checkpoint file read back and checked (trailer, length, checksum, version).
class CheckpointFile {
 public:
  // Throws InvalidInput naming the path and the problem for a missing, truncated, corrupt or
  // foreign file, or one of another version.
  explicit CheckpointFile(const std::string& path);
  ~CheckpointFile();
  // The entry `name`; throws InvalidInput when it is missing or does not read back.
  at::Tensor read(const std::string& name) const;
  // An entry holding one int64; throws InvalidInput otherwise.
  int64_t integer(const std::string& name) const;
  // An entry written by text_entry; throws InvalidInput otherwise.
  std::string text(const std::string& name) const;
  const std::string& path() const { return path_; }

 private:
  struct Archive;
  std::string path_;
  std::unique_ptr<Archive> archive_;
};

// CRC-32 of every entry's name and bytes, in order (summary.json's state_checksum).
int64_t checksum_of(const NamedTensors& entries);

// Removes the temporary files of checkpoint writes that a kill interrupted.
void remove_stale_temporaries(const std::string& checkpoint);

}  // namespace swalp::engine
