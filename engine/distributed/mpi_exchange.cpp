#include "distributed/mpi_exchange.h"

#include <ATen/ATen.h>
#include <mpi.h>

#include <cstdlib>

#include "swalp/codec.h"
#include "swalp/error.h"

namespace swalp::distributed {

namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw RuntimeFailure(std::string("MPI ") + what + " failed");
}

// FNV-1a over the parameters' bytes: equal on every worker iff (almost surely) the bits are.
uint64_t fingerprint(const std::vector<at::Tensor>& parameters) {
  uint64_t h = 1469598103934665603ull;
  for (const at::Tensor& p : parameters) {
    const at::Tensor c = p.detach().contiguous();
    const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
    const size_t n = size_t(c.numel()) * c.element_size();
    for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return h;
}

class MpiExchange : public engine::GradientExchange {
 public:
  explicit MpiExchange(const ExchangeOptions& o) : options_(o) {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "Comm_size");
    if (o.codec != "fp32") codec_ = &codec_by_name(o.codec);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  uint64_t bytes_sent() const override { return bytes_; }

  bool all(bool local) override {
    int value = local ? 1 : 0, result = 0;
    check(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "Allreduce");
    return result == 1;
  }

  void check_in_sync(const std::vector<at::Tensor>& parameters, uint64_t step) override {
    const uint64_t h = fingerprint(parameters);
    uint64_t low = 0, high = 0;
    check(MPI_Allreduce(&h, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD), "Allreduce");
    check(MPI_Allreduce(&h, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "Allreduce");
    if (low != high)
      throw RuntimeFailure("data-parallel workers hold different weights after step " +
                           std::to_string(step));
  }

  void average(std::vector<at::Tensor>& gradients) override {
    if (residuals_.empty() && options_.error_feedback)
      for (const at::Tensor& g : gradients) residuals_.push_back(at::zeros_like(g));
    for (size_t t = 0; t < gradients.size(); ++t) {
      at::Tensor& g = gradients[t];
      TORCH_CHECK(g.is_contiguous() && g.scalar_type() == at::kFloat, "float32 gradients");
      float* data = g.data_ptr<float>();
      const size_t n = size_t(g.numel());
      if (!codec_) {
        bytes_ += fp32_average(data, n);
        continue;
      }
      // Error feedback: what the code lost last time is added now, and what it loses now is kept.
      float* residual = nullptr;
      if (options_.error_feedback) {
        g.add_(residuals_[t]);
        residual = residuals_[t].data_ptr<float>();
      }
      bytes_ += compressed_average(*codec_, data, n, options_.block, residual);
    }
  }

 private:
  ExchangeOptions options_;
  const Codec* codec_ = nullptr;
  int rank_ = 0, size_ = 1;
  uint64_t bytes_ = 0;
  std::vector<at::Tensor> residuals_;
};

}  // namespace

uint64_t fp32_average(float* data, size_t n) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  check(MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "Allreduce");
  for (size_t i = 0; i < n; ++i) data[i] /= float(size);
  // A ring allreduce sends 2 (N - 1) / N of the message from every worker.
  return uint64_t(2 * (size - 1) * n * sizeof(float) / size);
}

uint64_t compressed_average(const Codec& codec, float* data, size_t n, size_t block,
                            float* residual) {
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  EncodeOptions eo;
  eo.block = block;
  EncodedMessage mine;
  encode(codec, data, n, eo, mine);
  // Every worker's codes and scales, to everyone (a ring sends N - 1 messages each).
  const size_t scales = mine.scales.size();
  std::vector<uint8_t> codes(n * size);
  std::vector<float> all_scales(scales * size);
  check(MPI_Allgather(mine.codes.data(), int(n), MPI_UNSIGNED_CHAR, codes.data(), int(n),
                      MPI_UNSIGNED_CHAR, MPI_COMM_WORLD),
        "Allgather");
  check(MPI_Allgather(mine.scales.data(), int(scales), MPI_FLOAT, all_scales.data(), int(scales),
                      MPI_FLOAT, MPI_COMM_WORLD),
        "Allgather");
  // Sum in rank order, then divide: the same floating-point result on every worker.
  std::vector<float> sum(n, 0.0f), decoded(n);
  EncodedMessage message;
  message.block = mine.block;
  for (int w = 0; w < size; ++w) {
    message.codes.assign(codes.begin() + w * n, codes.begin() + (w + 1) * n);
    message.scales.assign(all_scales.begin() + w * scales, all_scales.begin() + (w + 1) * scales);
    decode(codec, message, decoded.data());
    if (residual && w == rank)  // this worker's own loss, from the decoding done anyway
      for (size_t i = 0; i < n; ++i) residual[i] = data[i] - decoded[i];
    for (size_t i = 0; i < n; ++i) sum[i] += decoded[i];
  }
  for (size_t i = 0; i < n; ++i) data[i] = sum[i] / float(size);
  return uint64_t(size - 1) * mine.wire_bytes();
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) check(MPI_Init(argc, argv), "Init");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::shared_ptr<engine::GradientExchange> make_mpi_exchange(const ExchangeOptions& options) {
  if (options.codec != "fp32") codec_by_name(options.codec);  // validates
  return std::make_shared<MpiExchange>(options);
}

void abort_all(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace swalp::distributed
