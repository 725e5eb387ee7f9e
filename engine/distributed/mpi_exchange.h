// Data-parallel gradient exchange over MPI: fp32 (MPI_Allreduce) or compressed with an 8-bit
// codec, all-gathered or reduce-scattered (compressed_exchange.h), with optional error feedback
// (the part of the gradient the code lost is added to the next one).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "distributed/compressed_exchange.h"
#include "swalp/codec.h"
#include "train/trainer.h"

namespace swalp::distributed {

// MPI_Init / MPI_Finalize for the life of the object (one per process).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

struct ExchangeOptions {
  std::string codec = "fp32";  // or a codec_names() entry
  bool error_feedback = false;
  size_t block = 0;  // values per scale (0: one scale per gradient tensor, or per segment)
  std::string exchange = "all-gather";  // or "reduce-scatter" (compressed codecs only)
};

// Throws InvalidInput for an unknown codec or exchange (naming the accepted ones).
std::shared_ptr<engine::GradientExchange> make_mpi_exchange(const ExchangeOptions& options);

// Ends every worker with this exit code (after an error on one of them, so none waits forever).
[[noreturn]] void abort_all(int code);

}  // namespace swalp::distributed
