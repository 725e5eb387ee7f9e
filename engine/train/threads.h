// Thread setup for training: libtorch's intra-op pool gets the cores (DESIGN: threads = cores
// unless the user says otherwise), and OpenBLAS, which libtorch calls from inside that pool,
// runs single-threaded so that two pools do not fight over the same cores (2.4x faster
// Fashion-MNIST epochs on 2 cores than with both pools at 2 threads).
#pragma once

namespace swalp::engine {

// threads <= 0: all cores. Throws RuntimeFailure when the address space (ulimit -v) cannot hold
// OpenBLAS's work buffers: OpenBLAS retries a failed allocation forever, so training would hang.
void configure_threads(int threads);

}  // namespace swalp::engine
