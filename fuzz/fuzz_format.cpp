// Format spellings and rounding names ("SPELLING\nROUNDING"): make_quant_spec accepts or throws
// InvalidInput, nothing else; an accepted format quantizes a fixed set of values, special ones
// included, to the same bits in the fast kernels as in the scalar oracle.
#include <cmath>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swalp;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t cut = text.find('\n');
  const std::string spelling = text.substr(0, cut);
  const std::string rounding = cut == std::string::npos ? "nearest" : text.substr(cut + 1);
  QuantSpec spec;
  try {
    spec = make_quant_spec(spelling, rounding, 7, 1);
  } catch (const InvalidInput&) {
    return 0;
  }
  const float values[16] = {0.0f,    -0.0f,    1.0f,   -1.5f,          3.14159f, 1e-30f,
                            -1e30f,  65504.0f, 1e-45f, 0.1f,           -2.5f,    448.0f,
                            6.0e-8f, 240.0f,   -0.75f, 1.17549435e-38f};
  float fast[16], oracle[16];
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{}, std::vector<int64_t>{4, 4}}) {
    bool fast_ok = true, oracle_ok = true;
    try {
      quantize(spec, values, fast, 16, shape);
    } catch (const InvalidInput&) {
      fast_ok = false;
    }
    try {
      quantize_reference(spec, values, oracle, 16, shape);
    } catch (const InvalidInput&) {
      oracle_ok = false;
    }
    fuzz::require(fast_ok == oracle_ok, "fast path and oracle disagree on accepting the input");
    if (!fast_ok) continue;
    for (int i = 0; i < 16; ++i)
      fuzz::require(std::memcmp(&fast[i], &oracle[i], 4) == 0 ||
                        (std::isnan(fast[i]) && std::isnan(oracle[i])),
                    "fast path and oracle give different bits");
  }
  return 0;
}
