#include "output_pool.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

namespace swalp::python {

namespace {
struct Pool {
  std::mutex mutex;
  std::multimap<size_t, void*> buffers;  // bytes -> a freed buffer of that size
  size_t retained = 0;
};

Pool& pool() {
  static Pool* instance = new Pool;  // never destroyed: tensors may outlive static teardown
  return *instance;
}

void* take(size_t bytes) {
  {
    std::lock_guard lock(pool().mutex);
    const auto it = pool().buffers.find(bytes);
    if (it != pool().buffers.end()) {
      void* buffer = it->second;
      pool().buffers.erase(it);
      pool().retained -= bytes;
      return buffer;
    }
  }
  void* buffer = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!buffer) throw std::bad_alloc();
  return buffer;
}

void give_back(void* buffer, size_t bytes) {
  std::lock_guard lock(pool().mutex);
  if (pool().retained + bytes > kRetainedBytes) {
    std::free(buffer);
    return;
  }
  pool().buffers.emplace(bytes, buffer);
  pool().retained += bytes;
}
}  // namespace

at::Tensor pooled_empty(at::IntArrayRef sizes) {
  size_t count = 1;
  for (int64_t s : sizes) count *= size_t(s);
  const size_t bytes = count * sizeof(float);
  if (bytes < kPooledMinBytes) return at::empty(sizes, at::kFloat);
  void* buffer = take(bytes);
  return at::from_blob(
      buffer, sizes, [bytes](void* p) { give_back(p, bytes); }, at::kFloat);
}

void release_pooled_buffers() {
  std::lock_guard lock(pool().mutex);
  for (auto& [bytes, buffer] : pool().buffers) std::free(buffer);
  pool().buffers.clear();
  pool().retained = 0;
}

}  // namespace swalp::python
