#include "distributed/compressed_exchange.h"

#include <mpi.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "swalp/error.h"

namespace swalp::distributed {

void check_mpi(int code, const char* what) {
  if (code != MPI_SUCCESS) throw RuntimeFailure(std::string("MPI ") + what + " failed");
}

namespace {

// This worker's rank and the number of workers; refuses a message MPI's int counts cannot
// address (a wrapped count would move the wrong bytes without an error).
void world(int& size, int& rank, size_t n) {
  if (n > size_t(std::numeric_limits<int>::max()))
    throw InvalidInput("a gradient tensor of " + std::to_string(n) +
                       " values is more than one MPI message can count (2^31 - 1)");
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
}

// The block size a decoder of a k-value segment uses (what encode() stored for it).
size_t decode_block(size_t k, size_t block) { return block == 0 ? std::max<size_t>(k, 1) : block; }

size_t wire_bytes(const Codec& codec, size_t k, size_t block) {
  return encoded_code_bytes(codec, k) + sizeof(float) * encoded_scale_count(codec, k, block);
}

// out[0..k) = the sum, in rank order, of every worker's decoded message of k values (codes and
// scales of worker w from message_of(w)), the same floating-point result on every worker.
// Decoded values are never -0, so storing the first message equals adding it to zeros. With
// error feedback this worker's own message is already decoded (own_decoded) and used from there.
template <class MessageOf>
void sum_in_rank_order(const Codec& codec, size_t k, size_t block, int size, int rank,
                       const MessageOf& message_of, const float* own_decoded, float* out) {
  for (int w = 0; w < size; ++w) {
    if (own_decoded && w == rank) {
      for (size_t i = 0; i < k; ++i) out[i] = w > 0 ? out[i] + own_decoded[i] : own_decoded[i];
      continue;
    }
    const auto [codes, scales] = message_of(w);
    decode(codec, codes, scales, k, decode_block(k, block), out, /*accumulate=*/w > 0);
  }
}

}  // namespace

const std::vector<std::string>& compressed_exchange_names() {
  static const std::vector<std::string> names = {"all-gather", "reduce-scatter"};
  return names;
}

CompressedExchange compressed_exchange_by_name(const std::string& name) {
  if (name == "all-gather") return CompressedExchange::kAllGather;
  if (name == "reduce-scatter") return CompressedExchange::kReduceScatter;
  throw InvalidInput("bad gradient exchange '" + name + "'; accepted: all-gather, reduce-scatter");
}

uint64_t fp32_average(float* data, size_t n) {
  int size = 1, rank = 0;
  world(size, rank, n);
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
            "Allreduce");
  for (size_t i = 0; i < n; ++i) data[i] /= float(size);
  // A ring allreduce sends 2 (N - 1) / N of the message from every worker.
  return uint64_t(2 * (size - 1) * n * sizeof(float) / size);
}

uint64_t compressed_average(const Codec& codec, float* data, size_t n, size_t block,
                            float* residual) {
  int size = 1, rank = 0;
  world(size, rank, n);
  EncodeOptions eo;
  eo.block = block;
  // Buffers kept from call to call: fresh ones would cost their page faults every step.
  thread_local EncodedMessage mine;
  thread_local std::vector<uint8_t> codes;
  thread_local std::vector<float> all_scales, sum;
  encode(codec, data, n, eo, mine);
  // Every worker's codes and scales, to everyone (a ring sends N - 1 messages each).
  const size_t scales = mine.scales.size(), code_bytes = mine.codes.size();
  codes.resize(code_bytes * size);
  all_scales.resize(scales * size);
  check_mpi(MPI_Allgather(mine.codes.data(), int(code_bytes), MPI_UNSIGNED_CHAR, codes.data(),
                          int(code_bytes), MPI_UNSIGNED_CHAR, MPI_COMM_WORLD),
            "Allgather");
  check_mpi(MPI_Allgather(mine.scales.data(), int(scales), MPI_FLOAT, all_scales.data(),
                          int(scales), MPI_FLOAT, MPI_COMM_WORLD),
            "Allgather");
  // Sum in rank order, then divide. With error feedback this worker's own message is decoded
  // once, into `residual`.
  sum.resize(n);
  if (residual) decode(codec, mine.codes.data(), mine.scales.data(), n, mine.block, residual);
  sum_in_rank_order(
      codec, n, block, size, rank,
      [&](int w) {
        return std::pair{codes.data() + size_t(w) * code_bytes,
                         all_scales.data() + size_t(w) * scales};
      },
      residual, sum.data());
  if (residual)  // this worker's own loss
    for (size_t i = 0; i < n; ++i) residual[i] = data[i] - residual[i];
  for (size_t i = 0; i < n; ++i) data[i] = sum[i] / float(size);
  return uint64_t(size - 1) * mine.wire_bytes();
}

Segment segment_of(size_t n, size_t block, int workers, int w) {
  const size_t unit = std::max<size_t>(block, 1), units = (n + unit - 1) / unit;
  const auto edge = [&](int k) { return std::min(n, units * size_t(k) / size_t(workers) * unit); };
  return {edge(w), edge(w + 1)};
}

size_t longest_segment(size_t n, size_t block, int workers) {
  size_t longest = 0;
  for (int w = 0; w < workers; ++w)
    longest = std::max(longest, segment_of(n, block, workers, w).size());
  return longest;
}

uint64_t compressed_reduce_scatter_average(const Codec& codec, float* data, size_t n, size_t block,
                                           float* residual, float* owner_residual) {
  int size = 1, rank = 0;
  world(size, rank, n);
  EncodeOptions eo;
  eo.block = block;
  thread_local std::vector<EncodedMessage> outgoing;  // this worker's message, per segment
  thread_local std::vector<uint8_t> incoming_codes, all_codes;
  thread_local std::vector<float> incoming_scales, all_scales, average;
  thread_local EncodedMessage reduced;
  outgoing.resize(size_t(size));
  std::vector<Segment> segments;
  for (int w = 0; w < size; ++w) segments.push_back(segment_of(n, block, size, w));
  const Segment mine = segments[size_t(rank)];
  const size_t my_scales = encoded_scale_count(codec, mine.size(), block),
               my_code_bytes = encoded_code_bytes(codec, mine.size()),
               my_block = decode_block(mine.size(), block);
  uint64_t bytes = 0;

  // 1. Segment w of every worker's message to worker w.
  for (int w = 0; w < size; ++w) {
    const Segment s = segments[size_t(w)];
    encode(codec, data + s.begin, s.size(), eo, outgoing[size_t(w)]);
  }
  incoming_codes.resize(my_code_bytes * size_t(size));
  incoming_scales.resize(my_scales * size_t(size));
  std::vector<MPI_Request> requests;
  for (int w = 0; w < size; ++w) {
    if (w == rank) continue;
    const EncodedMessage& out = outgoing[size_t(w)];
    requests.resize(requests.size() + 4);
    MPI_Request* r = &requests[requests.size() - 4];
    check_mpi(MPI_Irecv(incoming_codes.data() + size_t(w) * my_code_bytes, int(my_code_bytes),
                        MPI_UNSIGNED_CHAR, w, 0, MPI_COMM_WORLD, &r[0]),
              "Irecv");
    check_mpi(MPI_Irecv(incoming_scales.data() + size_t(w) * my_scales, int(my_scales), MPI_FLOAT,
                        w, 1, MPI_COMM_WORLD, &r[1]),
              "Irecv");
    check_mpi(MPI_Isend(out.codes.data(), int(out.codes.size()), MPI_UNSIGNED_CHAR, w, 0,
                        MPI_COMM_WORLD, &r[2]),
              "Isend");
    check_mpi(MPI_Isend(out.scales.data(), int(out.scales.size()), MPI_FLOAT, w, 1, MPI_COMM_WORLD,
                        &r[3]),
              "Isend");
    bytes += out.wire_bytes();
  }
  check_mpi(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "Waitall");

  // 2. This worker's segment: the fp32 sum in rank order (as in compressed_average), averaged.
  // With error feedback the own message is decoded once, into `residual`.
  if (residual)
    for (int w = 0; w < size; ++w) {
      const Segment s = segments[size_t(w)];
      const EncodedMessage& out = outgoing[size_t(w)];
      decode(codec, out.codes.data(), out.scales.data(), s.size(), decode_block(s.size(), block),
             residual + s.begin);
    }
  average.resize(mine.size());
  sum_in_rank_order(
      codec, mine.size(), block, size, rank,
      [&](int w) -> std::pair<const uint8_t*, const float*> {
        if (w == rank) return {outgoing[size_t(w)].codes.data(), outgoing[size_t(w)].scales.data()};
        return {incoming_codes.data() + size_t(w) * my_code_bytes,
                incoming_scales.data() + size_t(w) * my_scales};
      },
      residual ? residual + mine.begin : nullptr, average.data());
  if (residual)
    for (size_t i = 0; i < n; ++i) residual[i] = data[i] - residual[i];
  for (size_t i = 0; i < mine.size(); ++i) average[i] /= float(size);

  // 3. The average encoded again (plus what that lost last time, under error feedback) and
  // all-gathered: every worker decodes the same codes, its own segment included.
  if (owner_residual)
    for (size_t i = 0; i < mine.size(); ++i) average[i] += owner_residual[i];
  encode(codec, average.data(), mine.size(), eo, reduced);
  if (owner_residual) {
    decode(codec, reduced.codes.data(), reduced.scales.data(), mine.size(), my_block,
           owner_residual);
    for (size_t i = 0; i < mine.size(); ++i) owner_residual[i] = average[i] - owner_residual[i];
  }
  const size_t workers = size_t(size);
  std::vector<int> code_counts(workers), code_offsets(workers), scale_counts(workers),
      scale_offsets(workers);
  size_t total_scales = 0, total_code_bytes = 0;
  for (int w = 0; w < size; ++w) {
    // Each segment was encoded on its own: its codes start on a byte of their own.
    const Segment s = segments[size_t(w)];
    code_counts[size_t(w)] = int(encoded_code_bytes(codec, s.size()));
    code_offsets[size_t(w)] = int(total_code_bytes);
    total_code_bytes += encoded_code_bytes(codec, s.size());
    scale_counts[size_t(w)] = int(encoded_scale_count(codec, s.size(), block));
    scale_offsets[size_t(w)] = int(total_scales);
    total_scales += encoded_scale_count(codec, s.size(), block);
    // A ring all-gather forwards every segment but the next worker's.
    if (size > 1 && w != (rank + 1) % size) bytes += wire_bytes(codec, s.size(), block);
  }
  all_codes.resize(total_code_bytes);
  all_scales.resize(total_scales);
  check_mpi(MPI_Allgatherv(reduced.codes.data(), int(reduced.codes.size()), MPI_UNSIGNED_CHAR,
                           all_codes.data(), code_counts.data(), code_offsets.data(),
                           MPI_UNSIGNED_CHAR, MPI_COMM_WORLD),
            "Allgatherv");
  check_mpi(MPI_Allgatherv(reduced.scales.data(), int(reduced.scales.size()), MPI_FLOAT,
                           all_scales.data(), scale_counts.data(), scale_offsets.data(), MPI_FLOAT,
                           MPI_COMM_WORLD),
            "Allgatherv");
  for (int w = 0; w < size; ++w) {
    const Segment s = segments[size_t(w)];
    decode(codec, all_codes.data() + code_offsets[size_t(w)],
           all_scales.data() + scale_offsets[size_t(w)], s.size(), decode_block(s.size(), block),
           data + s.begin);
  }
  return bytes;
}

}  // namespace swalp::distributed
