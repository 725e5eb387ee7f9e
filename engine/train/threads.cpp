#include "train/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <thread>

namespace swalp::engine {

void configure_threads(int threads) {
  at::set_num_threads(threads > 0 ? threads
                                  : int(std::max(1u, std::thread::hardware_concurrency())));
  // Present only when the BLAS behind libtorch is OpenBLAS; other BLAS builds are left alone.
  using SetThreads = void (*)(int);
  if (auto set_blas_threads =
          reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(1);
}

}  // namespace swalp::engine
