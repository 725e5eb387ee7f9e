// The gradient exchanges on one message, without torch (mpi_exchange.h applies them per
// gradient tensor). Every function is collective over MPI_COMM_WORLD and leaves the same bits
// in `data` on every worker. Each returns the bytes this worker sent, counted as a ring
// algorithm sends them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "swalp/codec.h"

namespace swalp::distributed {

// "all-gather" | "reduce-scatter": how a compressed gradient travels.
//   all-gather: every worker encodes its gradient and receives every other worker's codes,
//     decodes all in rank order and averages: (N - 1) n code bytes sent per worker.
//   reduce-scatter: the gradient is cut into N segments (whole scale blocks); worker w receives
//     every worker's codes of segment w, sums them in fp32 in rank order, encodes the average
//     again and all-gathers it: 2 (N - 1) / N n code bytes per worker, 25% of the fp32 ring at
//     any N, for a second rounding of the average.
// Throws RuntimeFailure naming the call when an MPI call failed.
void check_mpi(int code, const char* what);

enum class CompressedExchange { kAllGather, kReduceScatter };
const std::vector<std::string>& compressed_exchange_names();
// Throws InvalidInput naming the accepted spellings.
CompressedExchange compressed_exchange_by_name(const std::string& name);

// The fp32 exchange: MPI_Allreduce and divide.
uint64_t fp32_average(float* data, size_t n);

// The all-gather exchange. `residual` (optional, n values) receives this worker's data minus
// its decoded message (error feedback).
uint64_t compressed_average(const Codec& codec, float* data, size_t n, size_t block,
                            float* residual = nullptr);

// Values [begin, end) of segment `w` of n values cut into `workers` segments of whole blocks of
// `block` values (block 0: of single values); some are empty when n is small.
struct Segment {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};
Segment segment_of(size_t n, size_t block, int workers, int w);
// The longest segment of any worker: the length of a worker's `owner_residual`.
size_t longest_segment(size_t n, size_t block, int workers);

// The reduce-scatter exchange. With error feedback, `residual` (n values) receives what this
// worker's message lost, and `owner_residual` (longest_segment values) is added to the average
// of this worker's segment before it is encoded again and receives what that encoding lost.
uint64_t compressed_reduce_scatter_average(const Codec& codec, float* data, size_t n, size_t block,
                                           float* residual = nullptr,
                                           float* owner_residual = nullptr);

}  // namespace swalp::distributed
