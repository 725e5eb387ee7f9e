#include "distributed/mpi_exchange.h"

#include <ATen/ATen.h>
#include <mpi.h>

#include <cstdlib>

#include "swalp/codec.h"
#include "swalp/error.h"

namespace swalp::distributed {

namespace {

// FNV-1a over the parameters' bytes: equal on every worker iff (almost surely) the bits are.
uint64_t fingerprint(const std::vector<at::Tensor>& parameters) {
  uint64_t h = 1469598103934665603ull;
  for (const at::Tensor& p : parameters) {
    const at::Tensor c = p.detach().cpu().contiguous();
    const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
    const size_t n = size_t(c.numel()) * c.element_size();
    for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return h;
}

class MpiExchange : public engine::GradientExchange {
 public:
  explicit MpiExchange(const ExchangeOptions& o) : options_(o) {
    check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "Comm_rank");
    check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "Comm_size");
    if (o.codec != "fp32") codec_ = &codec_by_name(o.codec);
    reduce_scatter_ = compressed_exchange_by_name(o.exchange) == CompressedExchange::kReduceScatter;
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  uint64_t bytes_sent() const override { return bytes_; }

  bool all(bool local) override {
    int value = local ? 1 : 0, result = 0;
    check_mpi(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "Allreduce");
    return result == 1;
  }

  void check_in_sync(const std::vector<at::Tensor>& parameters, uint64_t step) override {
    const uint64_t h = fingerprint(parameters);
    uint64_t low = 0, high = 0;
    check_mpi(MPI_Allreduce(&h, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD), "Allreduce");
    check_mpi(MPI_Allreduce(&h, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "Allreduce");
    if (low != high)
      throw RuntimeFailure("data-parallel workers hold different weights after step " +
                           std::to_string(step));
  }

  std::vector<at::Tensor> gather_state() override {
    if (!options_.error_feedback) return {};
    // Before the first step after a start (or a restore) the residuals are not built yet: what
    // was restored, or nothing, is carried.
    at::Tensor flat = !residuals_.empty()  ? at::cat(flattened(state_tensors()))
                      : pending_.defined() ? pending_.contiguous()
                                           : at::zeros({0}, at::kFloat);
    at::Tensor all = at::empty({rank_ == 0 ? size_ : 0, flat.numel()}, at::kFloat);
    check_mpi(MPI_Gather(flat.data_ptr<float>(), int(flat.numel()), MPI_FLOAT,
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
      throw InvalidInput(
          "the checkpoint holds error-feedback residuals of " + std::to_string(all_workers.size()) +
          " workers; resume it with mpirun -np " + std::to_string(all_workers.size()));
    pending_ = all_workers[size_t(rank_)].to(at::kFloat).contiguous();
    residuals_.clear();  // made again from `pending_` at the next step
    owner_residuals_.clear();
  }

  void average(std::vector<at::Tensor>& gradients) override {
    if (residuals_.empty() && options_.error_feedback) start_residuals(gradients);
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
      if (reduce_scatter_)
        bytes_ += compressed_reduce_scatter_average(
            *codec_, data, n, options_.block, residual,
            options_.error_feedback ? owner_residuals_[t].data_ptr<float>() : nullptr);
      else
        bytes_ += compressed_average(*codec_, data, n, options_.block, residual);
    }
  }

 private:
  ExchangeOptions options_;
  const Codec* codec_ = nullptr;
  int rank_ = 0, size_ = 1;
  uint64_t bytes_ = 0;
  bool reduce_scatter_ = false;
  // Error feedback: per gradient, what this worker's message lost; under reduce-scatter also
  // what the encoding of its segment's average lost (longest_segment values, for equal sizes).
  std::vector<at::Tensor> residuals_, owner_residuals_;
  at::Tensor pending_;  // flat residuals restored from a checkpoint, until the next step

  // The state in checkpoint order: every residual, then every owner residual.
  std::vector<at::Tensor> state_tensors() const {
    std::vector<at::Tensor> all = residuals_;
    all.insert(all.end(), owner_residuals_.begin(), owner_residuals_.end());
    return all;
  }

  // Zeros, or the restored state cut back into tensors (which must fit exactly).
  void start_residuals(const std::vector<at::Tensor>& gradients) {
    for (const at::Tensor& g : gradients) residuals_.push_back(at::zeros_like(g));
    if (reduce_scatter_ && codec_)
      for (const at::Tensor& g : gradients)
        owner_residuals_.push_back(at::zeros(
            {int64_t(longest_segment(size_t(g.numel()), options_.block, size_))}, at::kFloat));
    if (!pending_.defined() || pending_.numel() == 0) return;
    int64_t total = 0;
    for (const at::Tensor& r : state_tensors()) total += r.numel();
    if (total != pending_.numel())
      throw InvalidInput("the checkpoint's error-feedback residuals (" +
                         std::to_string(pending_.numel()) +
                         " values per worker) do not fit this "
                         "model and gradient exchange (" +
                         std::to_string(total) + ")");
    int64_t offset = 0;
    for (at::Tensor& r : state_tensors()) {
      r.view(-1).copy_(pending_.slice(0, offset, offset + r.numel()));
      offset += r.numel();
    }
  }

  static std::vector<at::Tensor> flattened(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> flat;
    for (const at::Tensor& t : tensors) flat.push_back(t.reshape(-1));
    return flat;
  }
};

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) check_mpi(MPI_Init(argc, argv), "Init");
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
  compressed_exchange_by_name(options.exchange);
  return std::make_shared<MpiExchange>(options);
}

void abort_all(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace swalp::distributed
