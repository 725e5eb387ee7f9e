// Every float format of 16 bits or fewer: all representable values, all midpoints and their
// float32 neighbours, and random float32 inputs; fast kernels against the oracle, bit for bit.
#include <random>

#include "swalp/format.h"
#include "test_util.h"

namespace swalp {
namespace {

using test::expect_matches_reference;

// Finite non-negative values of a float format, ascending, decoded from every code on their own
// (not through the library): subnormals m * 2^(emin-M), normals (1 + m/2^M) * 2^(e-bias);
// E8M0 codes are 2^(field-127), with no zero and no subnormals.
std::vector<double> representable_magnitudes(const FloatFormat& f) {
  std::vector<double> values;
  const int top_field = (1 << f.exp_bits) - 1;
  const bool e8m0 = f.specials == SpecialValues::kE8m0;
  for (int field = 0; field <= top_field; ++field) {
    for (int m = 0; m < (1 << f.man_bits); ++m) {
      if (field == top_field && (f.specials == SpecialValues::kIeee || e8m0)) continue;
      if (field == top_field && f.specials == SpecialValues::kNanOnly && m == (1 << f.man_bits) - 1)
        continue;
      const bool subnormal = field == 0 && !e8m0;
      const double mantissa = subnormal ? m : (1 << f.man_bits) + m;
      const int exponent = (subnormal ? 1 : field) - f.bias() - f.man_bits;
      values.push_back(std::ldexp(mantissa, exponent));
    }
  }
  return values;
}

// Every float format of the registry up to 16 bits (so a new named format is tested with no
// edit here), and parametric ones that reach the corners of the exponent and mantissa ranges.
std::vector<std::string> formats_up_to_16_bits() {
  std::vector<std::string> names;
  for (const auto& row : format_table()) {
    const Format format = parse_format(row.name);
    if (format.kind == FormatKind::kFloat && format.bits <= 16) names.push_back(row.name);
  }
  for (const char* extra : {"float:1:3", "float:2:0", "float:3:4", "float:5:2:sat", "float:6:9",
                            "float:7:8", "float:8:0", "float:8:7:sat", "float:3:0:sat"})
    names.push_back(extra);
  return names;
}

std::vector<float> exhaustive_inputs(const std::vector<double>& magnitudes) {
  std::vector<float> inputs;
  auto add = [&](double v) {
    for (float s : {1.0f, -1.0f}) inputs.push_back(s * static_cast<float>(v));
  };
  for (size_t i = 0; i < magnitudes.size(); ++i) {
    add(magnitudes[i]);
    const double next =
        i + 1 < magnitudes.size() ? magnitudes[i + 1] : 2 * magnitudes[i] - magnitudes[i - 1];
    const float mid = static_cast<float>((magnitudes[i] + next) / 2);
    add(mid);
    add(std::nextafter(mid, 0.0f));
    add(std::nextafter(mid, INFINITY));
  }
  for (double v : {1e30, 3e38, 1e-40, 1e-45}) add(v);
  return inputs;
}

std::vector<float> random_inputs(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> out(count);
  for (auto& v : out) v = test::float_of(gen());
  return out;
}

class FloatFormats : public ::testing::TestWithParam<std::string> {};

TEST_P(FloatFormats, NearestKeepsEveryRepresentableValue) {
  const Format format = parse_format(GetParam());
  const auto magnitudes = representable_magnitudes(format.element);
  std::vector<float> values;
  for (double m : magnitudes) {
    values.push_back(static_cast<float>(m));
    // Both signs where the format has them (FNUZ: zero is +0 only; E8M0: no sign at all).
    if (format.element.has_sign() && (m != 0 || format.element.has_negative_zero()))
      values.push_back(-static_cast<float>(m));
  }
  std::vector<float> out(values.size());
  QuantSpec spec{format, Rounding::kNearest};
  quantize(spec, values.data(), out.data(), values.size());
  EXPECT_EQ(test::first_mismatch(values, out), -1);
  EXPECT_EQ(magnitudes.back(), format.element.max_finite());
}

TEST_P(FloatFormats, FastMatchesReferenceOnAllCodesAndMidpoints) {
  const Format format = parse_format(GetParam());
  const auto inputs = exhaustive_inputs(representable_magnitudes(format.element));
  test::for_each_simd_target([&] {
    for (Rounding r : all_roundings()) expect_matches_reference({format, r, 99, 3}, inputs);
  });
}

TEST_P(FloatFormats, FastMatchesReferenceOnRandomFloats) {
  const Format format = parse_format(GetParam());
  const auto inputs = random_inputs(3 << 20, 12345);  // a few million
  for (Rounding r : all_roundings()) expect_matches_reference({format, r, 7, 1}, inputs);
}

INSTANTIATE_TEST_SUITE_P(UpTo16Bits, FloatFormats, ::testing::ValuesIn(formats_up_to_16_bits()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == ':') c = '_';
                           return name;
                         });

TEST(FloatFormatsWide, FastMatchesReferenceOnRandomFloats) {
  for (const char* spelling : {"tf32", "float:8:23", "float:8:16", "float:7:20:sat"}) {
    const auto inputs = random_inputs(1 << 18, 777);
    for (Rounding r : all_roundings())
      expect_matches_reference(make_quant_spec(spelling, rounding_name(r), 5), inputs);
  }
}

TEST(FloatFormatsWide, Float823IsTheIdentity) {
  const auto inputs = random_inputs(1 << 18, 4242);
  for (Rounding r : all_roundings()) {
    std::vector<float> out(inputs.size());
    quantize(make_quant_spec("float:8:23", rounding_name(r)), inputs.data(), out.data(),
             inputs.size());
    EXPECT_EQ(test::first_mismatch(inputs, out), -1);
  }
}

#if defined(__FLT16_MANT_DIG__)
// The compiler's own binary16 conversion (round to nearest even, overflow to Inf).
TEST(CompilerConversions, Fp16MatchesFloat16) {
  auto inputs = exhaustive_inputs(representable_magnitudes(parse_format("fp16").element));
  const auto random = random_inputs(1 << 20, 31337);
  inputs.insert(inputs.end(), random.begin(), random.end());
  std::vector<float> ours(inputs.size()), theirs(inputs.size());
  quantize(make_quant_spec("fp16"), inputs.data(), ours.data(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    theirs[i] = static_cast<float>(static_cast<_Float16>(inputs[i]));
  EXPECT_EQ(test::first_mismatch(ours, theirs), -1);
}
#endif

}  // namespace
}  // namespace swalp
