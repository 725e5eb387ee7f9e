// Data-parallel gradient exchange over MPI: fp32 (MPI_Allreduce) or compressed with an 8-bit
// codec (each worker encodes its gradient, the codes and scales are all-gathered, every worker
// decodes all messages in rank order and averages: the same bits everywhere), with optional
// error feedback (the part of the gradient the code lost is added to the next one).
#pragma once

#include <memory>
#include <string>
#include <vector>

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
  size_t block = 0;  // values per scale (0: one scale per gradient tensor)
};

// Throws InvalidInput for an unknown codec (naming the accepted ones).
std::shared_ptr<engine::GradientExchange> make_mpi_exchange(const ExchangeOptions& options);

// The compressed exchange on one message, without torch: encode, all-gather codes and scales,
// decode all in rank order and average into `data`. `residual` (optional, n values) receives
// this worker's data minus its decoded message. Returns the bytes this worker sent.
uint64_t compressed_average(const Codec& codec, float* data, size_t n, size_t block,
                            float* residual = nullptr);
// The fp32 exchange: MPI_Allreduce and divide. Returns the bytes a ring sends per worker.
uint64_t fp32_average(float* data, size_t n);

// Ends every worker with this exit code (after an error on one of them, so none waits forever).
[[noreturn]] void abort_all(int code);

}  // namespace swalp::distributed
