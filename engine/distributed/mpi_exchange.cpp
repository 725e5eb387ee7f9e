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

  std::vector<at::Tensor> gather_state() override {
    if (!options_.error_feedback) return {};
    // Before the first step after a start (or a restore) the residuals are not built yet: what
    // was restored, or nothing, is carried.
    at::Tensor flat = !residuals_.empty() ? at::cat(flattened(residuals_))
                      : pending_.defined() ? pending_.contiguous()
                                           : at::zeros({0}, at::kFloat);
    at::Tensor all = at::empty({rank_ == 0 ? size_ : 0, flat.numel()}, at::kFloat);
    check(MPI_Gather(flat.data_ptr<float>(), int(flat.numel()), MPI_FLOAT,
                     rank_ == 0 ? all.data_ptr<float>() : nullptr, int(flat.numel()), MPI_FLOAT,
                     0, MPI_COMM_WORLD),
          "Gather");
    std::vector<at::Tensor> out;
    for (int w = 0; w < (rank_ == 0 ? size_ : 0); ++w) out.push_back(all[w].clone());
    return out;
  }

  void restore_state(const std::vector<at::Tensor>& all_workers) override {
    if (!options_.error_feedback) return;
    if (int(all_workers.size()) != size_)
      throw InvalidInput("the checkpoint holds error-feedback residuals of " +
                         std::to_string(all_workers.size()) + " workers; resume it with mpirun -np " +
                         std::to_string(all_workers.size()));
    pending_ = all_workers[size_t(rank_)].to(at::kFloat).contiguous();
    residuals_.clear();  // made again from `pending_` at the next step
  }

  void average(std::vector<at::Tensor>& gradients) override {
    if (residuals_.empty() && options_.error_feedback) {
      int64_t offset = 0;
      for (const at::Tensor& g : gradients) {
        at::Tensor r = at::zeros_like(g);
        if (pending_.defined() && pending_.numel() > 0) {
          if (offset + g.numel() > pending_.numel())
            throw InvalidInput("the checkpoint's error-feedback residuals do not fit this model");
          r.view(-1).copy_(pending_.slice(0, offset, offset + g.numel()));
        }
        offset += g.numel();
        residuals_.push_back(r);
      }
    }
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
  at::Tensor pending_;  // flat residuals restored from a checkpoint, until the next step

  static std::vector<at::Tensor> flattened(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> flat;
    for (const at::Tensor& t : tensors) flat.push_back(t.reshape(-1));
    return flat;
  }
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
  // Buffers kept from call to call: fresh ones would cost their page faults every step.
  thread_local EncodedMessage mine;
  thread_local std::vector<uint8_t> codes;
  thread_local std::vector<float> all_scales, sum;
  encode(codec, data, n, eo, mine);
  // Every worker's codes and scales, to everyone (a ring sends N - 1 messages each).
  const size_t scales = mine.scales.size();
  codes.resize(n * size);
  all_scales.resize(scales * size);
  check(MPI_Allgather(mine.codes.data(), int(n), MPI_UNSIGNED_CHAR, codes.data(), int(n),
                      MPI_UNSIGNED_CHAR, MPI_COMM_WORLD),
        "Allgather");
  check(MPI_Allgather(mine.scales.data(), int(scales), MPI_FLOAT, all_scales.data(), int(scales),
                      MPI_FLOAT, MPI_COMM_WORLD),
        "Allgather");
  // Sum in rank order, then divide: the same floating-point result on every worker. Decoded
  // values are never -0, so storing the first message equals adding it to zeros. With error
  // feedback this worker's own message is decoded once, into `residual`, and used from there.
  sum.resize(n);
  if (residual) decode(codec, mine.codes.data(), mine.scales.data(), n, mine.block, residual);
  for (int w = 0; w < size; ++w) {
    if (residual && w == rank) {
      for (size_t i = 0; i < n; ++i) sum[i] = w > 0 ? sum[i] + residual[i] : residual[i];
      continue;
    }
    decode(codec, codes.data() + size_t(w) * n, all_scales.data() + size_t(w) * scales, n,
           mine.block, sum.data(), /*accumulate=*/w > 0);
  }
  if (residual)  // this worker's own loss
    for (size_t i = 0; i < n; ++i) residual[i] = data[i] - residual[i];
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
