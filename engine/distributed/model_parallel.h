// Model parallelism over MPI (Dettmers 2016, section 4: 8-bit activations and errors): an MLP
// whose two hidden layers are split across the workers by units. Every worker sees the whole
// batch; worker r computes units [r k, (r + 1) k) of each hidden layer (k = hidden / N). The
// hidden activations are all-gathered (each worker needs all of a layer's units as the next
// layer's input), and the errors of the first hidden layer, to which every worker contributes a
// full-size partial sum, are reduce-scattered; both travel through a codec (or fp32). The output
// layer is small and replicated: every worker computes it from the same decoded activations, so
// the replicas stay identical.
//
//   x -> [W_A, split] -> a -> all-gather -> [W_B, split] -> h -> all-gather -> [W_C] -> logits
//   backward: dh = dlogits W_C (every worker), da = sum_r dz_B,r W_B,r -> reduce-scatter
//
// SGD with momentum and weight decay (PyTorch's convention), constant learning rate, fp32
// weights; only the exchanged activations and errors are compressed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/dataset.h"

namespace swalp::distributed {

struct ModelParallelOptions {
  int hidden = 512;            // units of each hidden layer, a multiple of the workers
  std::string codec = "fp32";  // activations and errors: fp32 or a codec_names() entry
  size_t block = 0;            // values per scale (0: one per message)
  int epochs = 3, batch_size = 128;
  double lr = 0.05, momentum = 0.9, weight_decay = 5e-4;
  uint64_t seed = 1;
};

struct ModelParallelEpoch {
  int epoch = 0;
  double train_loss = 0, test_error = 0, seconds = 0;
};

struct ModelParallelResult {
  std::vector<ModelParallelEpoch> epochs;
  int workers = 1;
  int64_t steps = 0;
  // Bytes this worker sent in training steps (ring all-gathers, direct reduce-scatter), and what
  // the fp32 exchange sends for the same steps.
  uint64_t bytes_sent = 0, fp32_bytes = 0;
};

// Collective over MPI_COMM_WORLD (MPI initialized by the caller). Throws InvalidInput for bad
// options (hidden not a multiple of the workers, an unknown codec) and RuntimeFailure when the
// replicated layer differs between workers at the end.
ModelParallelResult train_model_parallel(
    const ModelParallelOptions& options, const engine::Dataset& train, const engine::Dataset& test,
    const std::function<void(const ModelParallelEpoch&)>& on_epoch);

}  // namespace swalp::distributed
