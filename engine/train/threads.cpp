#include "train/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "swalp/error.h"

namespace swalp::engine {

namespace {
// OpenBLAS 0.3 takes a work buffer of this size (BUFFER_SIZE plus a page, seen in its
// allocation) per calling thread on the first product, and loops when malloc fails.
constexpr size_t kBlasBufferBytes = (size_t(128) << 20) + 4096;

void ensure_blas_buffers(int threads) {
  std::vector<void*> blocks;
  bool ok = true;
  for (int t = 0; t < threads + 1 && ok; ++t) {  // + 1: room for everything else
    blocks.push_back(std::malloc(kBlasBufferBytes));
    ok = blocks.back() != nullptr;
  }
  for (void* b : blocks) std::free(b);
  if (!ok)
    throw RuntimeFailure("out of memory: " + std::to_string((threads + 1) * kBlasBufferBytes) +
                         " bytes of address space for OpenBLAS's work buffers with " +
                         std::to_string(threads) +
                         " training threads are not available; raise the limit (ulimit -v) or use "
                         "fewer --threads");
}
}  // namespace

void configure_threads(int threads) {
  const int count = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(count);
  ensure_blas_buffers(count);
  // Present only when the BLAS behind libtorch is OpenBLAS; other BLAS builds are left alone.
  using SetThreads = void (*)(int);
  if (auto set_blas_threads =
          reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(1);
}

}  // namespace swalp::engine
