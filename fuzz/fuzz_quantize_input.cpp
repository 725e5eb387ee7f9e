// `swalp quantize` input handling: the input read as decimal text (one number per line) and as
// raw little-endian float32 bytes; each parse accepts or throws InvalidInput. The raw floats
// (any bits: NaN, Inf, subnormals) are quantized by a format and rounding picked by the first
// two bytes, and the fast kernels must give the oracle's bits.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "input_output.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swalp;
  try {
    cli::decode_text_floats(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const InvalidInput&) {
  }
  try {
    cli::parse_shape(std::string(reinterpret_cast<const char*>(data), std::min<size_t>(size, 64)));
  } catch (const InvalidInput&) {
  }
  if (size < 2) return 0;
  static const char* const kFormats[] = {
      "bf16",      "fp16",    "fp8e4m3",       "fp8e5m2",      "fp6e2m3",    "fp4e2m1",
      "fixed:8:4", "bfp:8",   "bfp:8:row",     "bfp:6:block4", "mx:fp8e4m3", "mx:int8:block16",
      "int:8:row", "dt8:col", "float:3:2:sat", "fixed:4:2",    "mx:fp4e2m1", "tf32"};
  static const char* const kRoundings[] = {"nearest", "stochastic", "zero", "up", "down"};
  const char* format = kFormats[data[0] % (sizeof kFormats / sizeof *kFormats)];
  const char* rounding = kRoundings[data[1] % 5];
  std::vector<float> values((size - 2) / 4);
  if (!values.empty()) std::memcpy(values.data(), data + 2, values.size() * 4);
  QuantSpec spec;
  try {
    spec = make_quant_spec(format, rounding, 3, 9);
  } catch (const InvalidInput&) {
    fuzz::require(false, "a spelling of the menu is refused");
  }
  std::vector<int64_t> shape;
  if (values.size() % 4 == 0 && !values.empty()) shape = {int64_t(values.size() / 4), 4};
  std::vector<float> fast(values.size()), oracle(values.size());
  bool fast_ok = true, oracle_ok = true;
  try {
    quantize(spec, values.data(), fast.data(), values.size(), shape);
  } catch (const InvalidInput&) {
    fast_ok = false;
  }
  try {
    quantize_reference(spec, values.data(), oracle.data(), values.size(), shape);
  } catch (const InvalidInput&) {
    oracle_ok = false;
  }
  fuzz::require(fast_ok == oracle_ok, "fast path and oracle disagree on accepting the input");
  if (!fast_ok) return 0;
  for (size_t i = 0; i < values.size(); ++i)
    fuzz::require(
        std::memcmp(&fast[i], &oracle[i], 4) == 0 || (std::isnan(fast[i]) && std::isnan(oracle[i])),
        "fast path and oracle give different bits");
  return 0;
}
