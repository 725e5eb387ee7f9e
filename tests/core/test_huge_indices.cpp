// Index arithmetic beyond 2^31 and 2^32 elements without the memory such arrays would take:
// scope layouts of huge shapes computed on their own, and the random index of stochastic
// rounding (index_offset + i) across the 2^32 boundary, where a 32-bit counter would wrap.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "scope_layout.h"
#include "swalp/codec.h"
#include "swalp/error.h"
#include "swalp/quantize.h"
#include "swalp/rng.h"

namespace swalp {
namespace {

TEST(HugeIndices, ScopeLayoutsOfHugeShapesUse64BitArithmetic) {
  // 2^21 x 2^12 + 3: 8.6e9 elements, past 2^32.
  const int64_t rows = int64_t(1) << 21, cols = (int64_t(1) << 12) + 3;
  const size_t n = size_t(rows) * size_t(cols);
  ASSERT_GT(n, size_t(1) << 32);
  const auto row = detail::make_scope_layout(parse_format("bfp:8:row"), n, {rows, cols});
  EXPECT_EQ(row.num_scopes(), size_t(rows));
  EXPECT_EQ(row.scope_of(n - 1), size_t(rows - 1));
  EXPECT_EQ(row.scope_of(size_t(cols) * 1000000 + 5), 1000000u);
  const auto col = detail::make_scope_layout(parse_format("bfp:8:col"), n, {rows, cols});
  EXPECT_EQ(col.num_scopes(), size_t(cols));
  EXPECT_EQ(col.scope_of(n - 1), size_t(cols - 1));
  const auto block = detail::make_scope_layout(parse_format("bfp:8:block16"), n, {rows, cols});
  const size_t per_row = (size_t(cols) + 15) / 16;
  EXPECT_EQ(block.num_scopes(), size_t(rows) * per_row);
  EXPECT_EQ(block.scope_of(n - 1), size_t(rows) * per_row - 1);
  // A shape whose element count overflows 64 bits is refused, not wrapped.
  EXPECT_THROW(detail::make_scope_layout(parse_format("bfp:8:row"), 16,
                                         {int64_t(1) << 40, int64_t(1) << 40}),
               InvalidInput);
}

TEST(HugeIndices, StochasticRoundingIndicesCrossTwoToThe32) {
  std::vector<float> values(4099);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.1f + 1e-4f * float(i);
  for (const char* format : {"bf16", "fixed:8:4", "bfp:6:block8", "mx:fp4e2m1", "dt8"})
    for (uint64_t offset : {(uint64_t(1) << 32) - 1000, (uint64_t(1) << 40) + 7}) {
      QuantSpec spec = make_quant_spec(format, "stochastic", 5, 2);
      spec.index_offset = offset;
      std::vector<float> fast(values.size()), oracle(values.size()), low(values.size());
      quantize(spec, values.data(), fast.data(), values.size());
      quantize_reference(spec, values.data(), oracle.data(), values.size());
      EXPECT_EQ(0, std::memcmp(fast.data(), oracle.data(), 4 * values.size())) << format;
      // The high bits of the index take part: offset and offset mod 2^32 draw differently.
      if (offset >> 32) {
        spec.index_offset = offset & 0xffffffffu;
        quantize(spec, values.data(), low.data(), values.size());
        EXPECT_NE(0, std::memcmp(fast.data(), low.data(), 4 * values.size())) << format;
      }
      // Quantizing the array in two slices at their own offsets equals quantizing it whole.
      std::vector<float> split(values.size());
      spec.index_offset = offset;
      quantize(spec, values.data(), split.data(), 1001);
      spec.index_offset = offset + 1001;
      quantize(spec, values.data() + 1001, split.data() + 1001, values.size() - 1001);
      if (std::string(format) == "bf16" || std::string(format) == "fixed:8:4") {  // elementwise
        EXPECT_EQ(0, std::memcmp(fast.data(), split.data(), 4 * values.size())) << format;
      }
    }
}

}  // namespace
}  // namespace swalp
