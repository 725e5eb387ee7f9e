// IDX data files (raw or gzip; the first input byte picks the file name's suffix): read_idx
// returns an array whose size matches its dimensions, or throws InvalidInput.
#include "data/idx_reader.h"
#include "fuzz_util.h"
#include "swalp/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swalp;
  const std::string path = fuzz::as_file(data, size, size > 0 && data[0] % 2 ? ".gz" : "");
  try {
    const data::IdxArray a = data::read_idx(path);
    size_t count = 1;
    for (auto d : a.dims) count *= size_t(d);
    fuzz::require(count == a.values.size(), "IDX array size differs from its dimensions");
  } catch (const InvalidInput&) {
  }
  return 0;
}
