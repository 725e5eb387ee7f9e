#include "distributed/model_parallel.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <mpi.h>

#include <chrono>
#include <cstring>

#include "distributed/compressed_exchange.h"
#include "swalp/codec.h"
#include "swalp/error.h"

namespace swalp::distributed {

namespace {

// The activation and error exchanges of one run: fp32 (codec null) or through a codec.
class SliceExchange {
 public:
  SliceExchange(const Codec* codec, size_t block, int size, int rank)
      : codec_(codec), block_(block), size_(size), rank_(rank) {}

  // B x k slices of every worker, in rank order, side by side: B x (k N).
  at::Tensor all_gather_columns(const at::Tensor& slice, uint64_t* bytes) {
    const at::Tensor mine = slice.contiguous();
    const size_t n = size_t(mine.numel());
    std::vector<at::Tensor> parts;
    if (!codec_) {
      at::Tensor all = at::empty({size_, mine.size(0), mine.size(1)}, at::kFloat);
      check_mpi(MPI_Allgather(mine.data_ptr<float>(), int(n), MPI_FLOAT, all.data_ptr<float>(),
                              int(n), MPI_FLOAT, MPI_COMM_WORLD),
                "Allgather");
      if (bytes) *bytes += uint64_t(size_ - 1) * 4 * n;  // a ring forwards N - 1 slices
      for (int w = 0; w < size_; ++w) parts.push_back(all[w]);
      return at::cat(parts, 1);
    }
    EncodeOptions o;
    o.block = block_;
    encode(*codec_, mine.data_ptr<float>(), n, o, message_);
    const size_t code_bytes = message_.codes.size(), scales = message_.scales.size();
    codes_.resize(code_bytes * size_t(size_));
    scales_.resize(scales * size_t(size_));
    check_mpi(MPI_Allgather(message_.codes.data(), int(code_bytes), MPI_UNSIGNED_CHAR,
                            codes_.data(), int(code_bytes), MPI_UNSIGNED_CHAR, MPI_COMM_WORLD),
              "Allgather");
    check_mpi(MPI_Allgather(message_.scales.data(), int(scales), MPI_FLOAT, scales_.data(),
                            int(scales), MPI_FLOAT, MPI_COMM_WORLD),
              "Allgather");
    if (bytes) *bytes += uint64_t(size_ - 1) * message_.wire_bytes();
    for (int w = 0; w < size_; ++w) {  // every worker decodes the same bytes, its own included
      at::Tensor part = at::empty_like(mine);
      decode(*codec_, codes_.data() + size_t(w) * code_bytes, scales_.data() + size_t(w) * scales,
             n, message_.block, part.data_ptr<float>());
      parts.push_back(part);
    }
    return at::cat(parts, 1);
  }

  // This worker's B x k columns of the sum over the workers of their B x (k N) partials, summed
  // in rank order (the same rounding on every worker).
  at::Tensor reduce_scatter_columns(const at::Tensor& partial, uint64_t* bytes) {
    const int64_t k = partial.size(1) / size_;
    std::vector<at::Tensor> pieces;
    for (int w = 0; w < size_; ++w) pieces.push_back(partial.narrow(1, w * k, k).contiguous());
    const size_t n = size_t(pieces[0].numel());
    std::vector<EncodedMessage> out(static_cast<size_t>(size_));
    std::vector<std::vector<uint8_t>> in_codes(static_cast<size_t>(size_));
    std::vector<std::vector<float>> in_floats(static_cast<size_t>(size_));
    std::vector<MPI_Request> requests;
    // Each request's handle is written at once, so a pointer into the vector is used only
    // before the next one grows it.
    auto next_request = [&requests] { return &requests.emplace_back(); };
    EncodeOptions o;
    o.block = block_;
    const size_t code_bytes = codec_ ? encoded_code_bytes(*codec_, n) : 0;
    const size_t scales = codec_ ? encoded_scale_count(*codec_, n, block_) : 0;
    for (int w = 0; w < size_; ++w) {
      const size_t u = size_t(w);
      if (codec_) encode(*codec_, pieces[u].data_ptr<float>(), n, o, out[u]);
      if (w == rank_) continue;
      if (codec_) {
        in_codes[u].resize(code_bytes);
        in_floats[u].resize(scales);
        check_mpi(MPI_Irecv(in_codes[u].data(), int(code_bytes), MPI_UNSIGNED_CHAR, w, 2,
                            MPI_COMM_WORLD, next_request()),
                  "Irecv");
        check_mpi(MPI_Irecv(in_floats[u].data(), int(scales), MPI_FLOAT, w, 3, MPI_COMM_WORLD,
                            next_request()),
                  "Irecv");
        check_mpi(MPI_Isend(out[u].codes.data(), int(code_bytes), MPI_UNSIGNED_CHAR, w, 2,
                            MPI_COMM_WORLD, next_request()),
                  "Isend");
        check_mpi(MPI_Isend(out[u].scales.data(), int(scales), MPI_FLOAT, w, 3, MPI_COMM_WORLD,
                            next_request()),
                  "Isend");
        if (bytes) *bytes += out[u].wire_bytes();
      } else {
        in_floats[u].resize(n);
        check_mpi(
            MPI_Irecv(in_floats[u].data(), int(n), MPI_FLOAT, w, 2, MPI_COMM_WORLD, next_request()),
            "Irecv");
        check_mpi(MPI_Isend(pieces[u].data_ptr<float>(), int(n), MPI_FLOAT, w, 2, MPI_COMM_WORLD,
                            next_request()),
                  "Isend");
        if (bytes) *bytes += 4 * n;
      }
    }
    check_mpi(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "Waitall");
    at::Tensor sum = at::zeros_like(pieces[0]);
    float* s = sum.data_ptr<float>();
    for (int w = 0; w < size_; ++w) {
      const size_t u = size_t(w);
      if (codec_) {
        const uint8_t* c = w == rank_ ? out[u].codes.data() : in_codes[u].data();
        const float* sc = w == rank_ ? out[u].scales.data() : in_floats[u].data();
        decode(*codec_, c, sc, n, out[size_t(rank_)].block, s, /*accumulate=*/true);
      } else {
        const float* v = w == rank_ ? pieces[u].data_ptr<float>() : in_floats[u].data();
        for (size_t i = 0; i < n; ++i) s[i] += v[i];
      }
    }
    return sum;
  }

 private:
  const Codec* codec_;
  size_t block_;
  int size_, rank_;
  EncodedMessage message_;
  std::vector<uint8_t> codes_;
  std::vector<float> scales_;
};

// One layer's parameters (this worker's rows) and their momentum buffers.
struct Layer {
  at::Tensor weight, bias, weight_velocity, bias_velocity;
  void step(const at::Tensor& dw, const at::Tensor& db, const ModelParallelOptions& o) {
    weight_velocity.mul_(o.momentum).add_(dw + o.weight_decay * weight);
    bias_velocity.mul_(o.momentum).add_(db + o.weight_decay * bias);
    weight.sub_(o.lr * weight_velocity);
    bias.sub_(o.lr * bias_velocity);
  }
};

// Rows [first, first + rows) of a `out` x `in` layer drawn whole from `gen` (PyTorch's
// uniform(-1/sqrt(in), 1/sqrt(in))), so every worker count starts from the same network.
Layer make_layer(int64_t out, int64_t in, int64_t first, int64_t rows, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(double(in));
  const at::Tensor w = at::rand({out, in}, gen) * (2 * bound) - bound;
  const at::Tensor b = at::rand({out}, gen) * (2 * bound) - bound;
  Layer l;
  l.weight = w.narrow(0, first, rows).clone();
  l.bias = b.narrow(0, first, rows).clone();
  l.weight_velocity = at::zeros_like(l.weight);
  l.bias_velocity = at::zeros_like(l.bias);
  return l;
}

}  // namespace

ModelParallelResult train_model_parallel(
    const ModelParallelOptions& o, const engine::Dataset& train, const engine::Dataset& test,
    const std::function<void(const ModelParallelEpoch&)>& on_epoch) {
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (o.hidden < 1 || o.hidden % size != 0)
    throw InvalidInput("--hidden " + std::to_string(o.hidden) + " must be a positive multiple of " +
                       "the " + std::to_string(size) + " workers (each holds hidden / N units)");
  if (o.epochs < 1 || o.batch_size < 1) throw InvalidInput("epochs and batch size must be >= 1");
  const Codec* codec = o.codec == "fp32" ? nullptr : &codec_by_name(o.codec);
  SliceExchange exchange(codec, o.block, size, rank);
  at::NoGradGuard no_grad;
  const int64_t k = o.hidden / size, inputs = train.images[0].numel(), classes = train.classes;
  at::Generator init = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  Layer layer_a = make_layer(o.hidden, inputs, rank * k, k, init);
  Layer layer_b = make_layer(o.hidden, o.hidden, rank * k, k, init);
  Layer layer_c = make_layer(classes, o.hidden, 0, classes, init);
  const at::Tensor train_x = train.images.reshape({train.size(), inputs});
  const at::Tensor test_x = test.images.reshape({test.size(), inputs});

  // The forward pass through the exchanges; `bytes` null: not counted (evaluation).
  struct Forward {
    at::Tensor a_mine, a, h_mine, h, logits;
  };
  auto forward = [&](const at::Tensor& x, uint64_t* bytes) {
    Forward f;
    f.a_mine = at::relu(at::addmm(layer_a.bias, x, layer_a.weight.t()));
    f.a = exchange.all_gather_columns(f.a_mine, bytes);
    f.h_mine = at::relu(at::addmm(layer_b.bias, f.a, layer_b.weight.t()));
    f.h = exchange.all_gather_columns(f.h_mine, bytes);
    f.logits = at::addmm(layer_c.bias, f.h, layer_c.weight.t());
    return f;
  };
  auto test_error = [&] {
    int64_t wrong = 0;
    for (int64_t begin = 0; begin < test.size(); begin += 1000) {
      const int64_t count = std::min<int64_t>(1000, test.size() - begin);
      const Forward f = forward(test_x.narrow(0, begin, count), nullptr);
      wrong += f.logits.argmax(1).ne(test.labels.narrow(0, begin, count)).sum().item<int64_t>();
    }
    return 100.0 * double(wrong) / double(std::max<int64_t>(1, test.size()));
  };

  ModelParallelResult result;
  result.workers = size;
  // What the fp32 exchange sends per step: three slices of B x k floats, N - 1 times each.
  auto fp32_step_bytes = [&](int64_t batch) { return uint64_t(3 * (size - 1) * batch * k * 4); };
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    at::Generator shuffle = at::make_generator<at::CPUGeneratorImpl>(o.seed * 1000003 + epoch);
    const at::Tensor order = at::randperm(train.size(), shuffle);
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t begin = 0; begin < train.size(); begin += o.batch_size) {
      const int64_t count = std::min<int64_t>(o.batch_size, train.size() - begin);
      const at::Tensor index = order.narrow(0, begin, count);
      const at::Tensor x = train_x.index_select(0, index), y = train.labels.index_select(0, index);
      const Forward f = forward(x, &result.bytes_sent);
      const at::Tensor log_p = at::log_softmax(f.logits, 1);
      loss_sum -= log_p.gather(1, y.unsqueeze(1)).mean().item<double>();
      at::Tensor dlogits = log_p.exp();
      dlogits.scatter_add_(1, y.unsqueeze(1), at::full({count, 1}, -1.0f));
      dlogits.div_(double(count));
      // Backward, then the steps (every gradient from the weights of this step).
      const at::Tensor dh = at::mm(dlogits, layer_c.weight);
      const at::Tensor dz_b = dh.narrow(1, rank * k, k) * f.h_mine.gt(0);
      const at::Tensor da_partial = at::mm(dz_b, layer_b.weight);
      const at::Tensor da = exchange.reduce_scatter_columns(da_partial, &result.bytes_sent);
      const at::Tensor dz_a = da * f.a_mine.gt(0);
      layer_c.step(at::mm(dlogits.t(), f.h), dlogits.sum(0), o);
      layer_b.step(at::mm(dz_b.t(), f.a), dz_b.sum(0), o);
      layer_a.step(at::mm(dz_a.t(), x), dz_a.sum(0), o);
      result.fp32_bytes += fp32_step_bytes(count);
      ++result.steps;
      ++batches;
    }
    ModelParallelEpoch log;
    log.epoch = epoch + 1;
    log.train_loss = loss_sum / double(std::max<int64_t>(1, batches));
    log.test_error = test_error();
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!std::isfinite(log.train_loss))
      throw RuntimeFailure("model-parallel training diverged at epoch " +
                           std::to_string(epoch + 1) + "; lower the learning rate");
    result.epochs.push_back(log);
    if (on_epoch) on_epoch(log);
  }
  // The replicated output layer must be the same on every worker.
  double checksum[2] = {layer_c.weight.sum().item<double>(), layer_c.bias.sum().item<double>()};
  double low[2], high[2];
  check_mpi(MPI_Allreduce(checksum, low, 2, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD), "Allreduce");
  check_mpi(MPI_Allreduce(checksum, high, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "Allreduce");
  if (low[0] != high[0] || low[1] != high[1])
    throw RuntimeFailure("the replicated output layer differs between workers");
  return result;
}

}  // namespace swalp::distributed
