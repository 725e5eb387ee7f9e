// The compressed gradient exchanges against a serial reference, under mpirun -np N (ctest runs
// it with 3 workers, so segments are uneven): every worker builds every worker's gradient from
// its rank, computes what the exchange must give with encode/decode alone, and compares bits,
// residuals and the bytes it counts. Exits non-zero, naming the case, on any difference.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "distributed/compressed_exchange.h"
#include "swalp/codec.h"

using namespace swalp;
using namespace swalp::distributed;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  }
}

bool same_bits(const float* a, const float* b, size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(float)) == 0;
}

std::vector<float> gradient_of(int rank, size_t n) {
  std::mt19937 generator(uint32_t(1000 * rank + n));
  std::normal_distribution<float> normal(0.0f, 0.01f * float(rank + 1));
  std::vector<float> g(n);
  for (float& v : g) v = normal(generator);
  return g;
}

std::vector<float> round_trip(const Codec& codec, const float* x, size_t n, size_t block) {
  EncodeOptions o;
  o.block = block;
  EncodedMessage m;
  encode(codec, x, n, o, m);
  std::vector<float> out(n);
  decode(codec, m, out.data());
  return out;
}

// Bytes of a k-value message, counted by hand: the 8-bit codecs send a byte per value and a
// float per block, sign1 a bit per value (whole bytes) and two floats per block.
size_t wire(const Codec& codec, size_t k, size_t block) {
  const size_t blocks = block == 0 ? (k > 0) : (k + block - 1) / block;
  if (codec.kind == CodecKind::kSign1) return (k + 7) / 8 + 8 * blocks;
  return k + 4 * blocks;
}

void check_segments(size_t n, size_t block, int size, const std::string& name) {
  size_t next = 0;
  for (int w = 0; w < size; ++w) {
    const Segment s = segment_of(n, block, size, w);
    expect(s.begin == next && s.end >= s.begin, name + ": segments tile the message");
    expect(block == 0 || s.begin % block == 0, name + ": segments start on a block");
    expect(s.size() <= longest_segment(n, block, size), name + ": longest segment");
    next = s.end;
  }
  expect(next == n, name + ": segments end at n");
}

void check_case(const Codec& codec, size_t n, size_t block, bool feedback, int rank, int size) {
  const std::string name = codec.name + " n=" + std::to_string(n) +
                           " block=" + std::to_string(block) +
                           (feedback ? " with error feedback" : "");
  check_segments(n, block, size, name);
  std::vector<std::vector<float>> grads;
  for (int r = 0; r < size; ++r) grads.push_back(gradient_of(r, n));

  // All-gather: the rank-ordered sum of every decoded message, divided.
  {
    std::vector<float> sum(n, 0.0f);
    for (int r = 0; r < size; ++r) {
      const std::vector<float> d = round_trip(codec, grads[size_t(r)].data(), n, block);
      for (size_t i = 0; i < n; ++i) sum[i] = r > 0 ? sum[i] + d[i] : d[i];
    }
    for (float& v : sum) v /= float(size);
    std::vector<float> data = grads[size_t(rank)], residual(n);
    const uint64_t bytes =
        compressed_average(codec, data.data(), n, block, feedback ? residual.data() : nullptr);
    expect(same_bits(data.data(), sum.data(), n), name + ": all-gather average");
    expect(bytes == uint64_t(size - 1) * wire(codec, n, block), name + ": all-gather bytes");
  }

  // Reduce-scatter: per segment, the rank-ordered sum of the decoded segments, divided, encoded
  // again and decoded.
  std::vector<float> expected(n), own_loss(n), owner_loss;
  uint64_t expected_bytes = 0;
  for (int w = 0; w < size; ++w) {
    const Segment s = segment_of(n, block, size, w);
    std::vector<float> average(s.size(), 0.0f);
    for (int r = 0; r < size; ++r) {
      const std::vector<float> d =
          round_trip(codec, grads[size_t(r)].data() + s.begin, s.size(), block);
      for (size_t i = 0; i < s.size(); ++i) average[i] = r > 0 ? average[i] + d[i] : d[i];
      if (r == rank)
        for (size_t i = 0; i < s.size(); ++i)
          own_loss[s.begin + i] = grads[size_t(r)][s.begin + i] - d[i];
    }
    for (float& v : average) v /= float(size);
    if (feedback)
      for (float& v : average) v += 0.0f;  // the owner residual starts at zero
    const std::vector<float> reduced = round_trip(codec, average.data(), s.size(), block);
    std::copy(reduced.begin(), reduced.end(), expected.begin() + long(s.begin));
    if (w == rank)
      for (size_t i = 0; i < s.size(); ++i) owner_loss.push_back(average[i] - reduced[i]);
    if (w != rank) expected_bytes += wire(codec, s.size(), block);
    if (w != (rank + 1) % size) expected_bytes += wire(codec, s.size(), block);
  }
  std::vector<float> data = grads[size_t(rank)], residual(n, 0.0f);
  std::vector<float> owner(longest_segment(n, block, size), 0.0f);
  const uint64_t bytes = compressed_reduce_scatter_average(codec, data.data(), n, block,
                                                           feedback ? residual.data() : nullptr,
                                                           feedback ? owner.data() : nullptr);
  expect(same_bits(data.data(), expected.data(), n), name + ": reduce-scatter average");
  expect(bytes == expected_bytes, name + ": reduce-scatter bytes " + std::to_string(bytes) +
                                      " (expected " + std::to_string(expected_bytes) + ")");
  if (feedback) {
    expect(same_bits(residual.data(), own_loss.data(), n), name + ": worker residual");
    expect(same_bits(owner.data(), owner_loss.data(), owner_loss.size()),
           name + ": owner residual");
  }
  // The same bits on every worker, checked through MPI as well.
  std::vector<float> first(data);
  MPI_Bcast(first.data(), int(n), MPI_FLOAT, 0, MPI_COMM_WORLD);
  expect(same_bits(first.data(), data.data(), n), name + ": equal on every worker");
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (const char* codec : {"dt8", "int8", "fp8e4m3", "sign1"})
    for (size_t n : {size_t(1), size_t(2), size_t(1000), size_t(4099)})
      for (size_t block : {size_t(0), size_t(7), size_t(256)})
        for (bool feedback : {false, true})
          check_case(codec_by_name(codec), n, block, feedback, rank, size);
  int all_failures = 0;
  MPI_Allreduce(&failures, &all_failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf("%s: %d failures over %d workers\n", all_failures ? "FAILED" : "passed",
                all_failures, size);
  MPI_Finalize();
  return all_failures == 0 ? 0 : 1;
}
