#include "swalp/format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <sstream>

#include "swalp/decimal.h"
#include "swalp/error.h"
#include "swalp/text.h"

namespace swalp {

// The one registry of named formats: name, exponent bits, mantissa bits, special values,
// saturation, what the name stands for, and the ml_dtypes type whose values agree (empty when
// none: the ml_dtypes oracle test and `swalp formats --json` read this column).
#define SWALP_NAMED_FLOATS(X)                                                                  \
  X("bf16", 8, 7, kIeee, false, "float:8:7 (bfloat16)", "bfloat16")                            \
  X("fp16", 5, 10, kIeee, false, "float:5:10 (IEEE binary16)", "float16")                      \
  X("tf32", 8, 10, kIeee, false, "float:8:10 (NVIDIA TensorFloat-32)", "")                     \
  X("fp8e5m2", 5, 2, kIeee, false, "float:5:2 (OCP FP8 E5M2, IEEE specials)", "float8_e5m2")   \
  X("fp8e4m3", 4, 3, kNanOnly, true, "OCP FP8 E4M3FN: no Inf, NaN = S.1111.111, sat",          \
    "float8_e4m3fn")                                                                           \
  X("fp8e4m3fnuz", 4, 3, kFnuz, true, "FP8 E4M3FNUZ: bias 8, no Inf, no -0, NaN = 0x80, sat",  \
    "float8_e4m3fnuz")                                                                         \
  X("fp8e5m2fnuz", 5, 2, kFnuz, true, "FP8 E5M2FNUZ: bias 16, no Inf, no -0, NaN = 0x80, sat", \
    "float8_e5m2fnuz")                                                                         \
  X("fp6e3m2", 3, 2, kNone, true, "OCP MX FP6 E3M2: no Inf/NaN, saturating", "float6_e3m2fn")  \
  X("fp6e2m3", 2, 3, kNone, true, "OCP MX FP6 E2M3: no Inf/NaN, saturating", "float6_e2m3fn")  \
  X("fp4e2m1", 2, 1, kNone, true, "OCP MX FP4 E2M1: no Inf/NaN, saturating", "float4_e2m1fn")  \
  X("e8m0", 8, 0, kE8m0, false,                                                                \
    "OCP E8M0 scale: 2^-127..2^127, unsigned, no zero (0, <0 -> NaN), NaN = 0xFF",             \
    "float8_e8m0fnu")

namespace {

struct NamedFloat {
  const char* name;
  FloatFormat format;
  const char* definition;
  const char* ml_dtypes;
};

const std::vector<NamedFloat>& named_floats() {
  static const std::vector<NamedFloat> table = {
#define SWALP_NAMED_FLOAT_ENTRY(name, e, m, specials, sat, def, ml) \
  {name, FloatFormat{e, m, SpecialValues::specials, sat}, def, ml},
      SWALP_NAMED_FLOATS(SWALP_NAMED_FLOAT_ENTRY)
#undef SWALP_NAMED_FLOAT_ENTRY
  };
  return table;
}

const NamedFloat* find_named_float(std::string_view name) {
  for (const auto& named : named_floats())
    if (name == named.name) return &named;
  return nullptr;
}

// The names torch and ml_dtypes give the same formats (values in range agree bit for bit;
// swalp's saturating FP8 formats clamp where ml_dtypes' casts overflow to NaN: `NAME:nosat`
// is the ml_dtypes cast).
struct FormatAlias {
  const char* alias;
  const char* name;
};
constexpr FormatAlias kAliases[] = {
    {"float32", "fp32"},
    {"bfloat16", "bf16"},
    {"float16", "fp16"},
    {"float8_e4m3fn", "fp8e4m3"},
    {"float8_e5m2", "fp8e5m2"},
    {"float8_e4m3fnuz", "fp8e4m3fnuz"},
    {"float8_e5m2fnuz", "fp8e5m2fnuz"},
    {"float8_e8m0fnu", "e8m0"},
    {"float6_e3m2fn", "fp6e3m2"},
    {"float6_e2m3fn", "fp6e2m3"},
    {"float4_e2m1fn", "fp4e2m1"},
};

// MX element types (OCP MX v1.0): name and emax of the element.
struct MxElementEntry {
  const char* name;
  int emax;
};
constexpr MxElementEntry kMxElements[] = {{"fp8e4m3", 8}, {"fp8e5m2", 15}, {"fp6e3m2", 4},
                                          {"fp6e2m3", 2}, {"fp4e2m1", 2},  {"int8", 0}};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(s);
  while (std::getline(stream, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.push_back("");
  return parts;
}

[[noreturn]] void fail(std::string_view spelling, const std::string& why) {
  throw InvalidInput("bad format '" + std::string(spelling) + "': " + why +
                     "; accepted: " + accepted_format_spellings());
}

int parse_int(std::string_view spelling, const std::string& field, const std::string& text, int lo,
              int hi) {
  const std::optional<int64_t> parsed = parse_decimal_int(text);
  if (!parsed) fail(spelling, field + " '" + text + "' is not a decimal integer");
  const int64_t value = *parsed;
  if (value < lo || value > hi)
    fail(spelling, field + " = " + text + " is out of range " + std::to_string(lo) + ".." +
                       std::to_string(hi));
  return int(value);
}

Scope parse_scope(std::string_view spelling, const std::string& text, bool block_only) {
  if (text.rfind("block", 0) == 0) {
    Scope scope{ScopeKind::kBlock, parse_int(spelling, "block size", text.substr(5), 1, 1 << 20)};
    return scope;
  }
  if (!block_only) {
    if (text == "tensor") return {ScopeKind::kTensor, 0};
    if (text == "row") return {ScopeKind::kRow, 0};
    if (text == "col") return {ScopeKind::kCol, 0};
    fail(spelling, "scope '" + text + "' is not one of tensor, row, col, blockN");
  }
  fail(spelling, "'" + text + "' is not blockN (MX scales are per block)");
}

std::string scope_spelling(const Scope& scope) {
  switch (scope.kind) {
    case ScopeKind::kTensor:
      return "tensor";
    case ScopeKind::kRow:
      return "row";
    case ScopeKind::kCol:
      return "col";
    case ScopeKind::kBlock:
      return "block" + std::to_string(scope.block);
  }
  return "tensor";
}

constexpr const char* kMxScaleRuleNames[] = {"floor", "ceil", "even", "rceil"};

MxScaleRule parse_mx_scale_rule(std::string_view spelling, const std::string& text) {
  for (int i = 0; i < 4; ++i)
    if (text == kMxScaleRuleNames[i]) return MxScaleRule(i);
  fail(spelling, "MX scale rule '" + text + "' is not one of floor, ceil, even, rceil");
}

// The canonical spelling leaves out the default rule, so `mx:ELEM:blockN` stays as it was.
std::string mx_scale_suffix(MxScaleRule rule) {
  return rule == MxScaleRule::kFloor ? "" : std::string(":scale=") + kMxScaleRuleNames[int(rule)];
}

void expect_fields(std::string_view spelling, const std::vector<std::string>& parts, size_t lo,
                   size_t hi, const char* form) {
  if (parts.size() < lo || parts.size() > hi) fail(spelling, std::string("expected ") + form);
}

}  // namespace

int FloatFormat::emax() const {
  const int top_field = (1 << exp_bits) - 1;
  // IEEE gives its top field to Inf/NaN, E8M0 to NaN; the others keep finite codes there.
  const bool top_reserved = specials == SpecialValues::kIeee || specials == SpecialValues::kE8m0;
  const int max_field = top_reserved ? top_field - 1 : top_field;
  return max_field - bias();
}

double FloatFormat::max_finite() const {
  if (emax() < emin()) return std::ldexp(1.0 - std::ldexp(1.0, -man_bits), emin());
  // E4M3FN loses only the all-ones mantissa of its top binade to NaN. (E8M0: 2^emax.)
  const int lost_ulps = specials == SpecialValues::kNanOnly ? 2 : 1;
  return std::ldexp(2.0 - lost_ulps * std::ldexp(1.0, -man_bits), emax());
}

double FloatFormat::min_normal() const { return std::ldexp(1.0, emin()); }
double FloatFormat::min_subnormal() const { return std::ldexp(1.0, emin() - man_bits); }
double FloatFormat::epsilon() const { return std::ldexp(1.0, -man_bits); }

std::string accepted_format_spellings() {
  std::string out = "fp32";
  for (const auto& f : named_floats()) out += std::string(", ") + f.name;
  out +=
      ", NAME:nosat (overflow to NaN/Inf as ml_dtypes' casts, for the formats above with NaN)"
      ", posit8, posit16, posit32 (ES 2), posit:N:ES (N 2..32, ES 0..4, (N-2)*2^ES <= 126)"
      ", float:E:M, float:E:M:sat (E 1..8, M 0..23), fixed:WL:FL (WL 2..32, FL -64..64), "
      "bfp:WL[:SCOPE] (WL 2..32), mx:ELEM[:blockN][:scale=RULE] (ELEM fp8e4m3|fp8e5m2|fp6e3m2|"
      "fp6e2m3|fp4e2m1|int8, N 1..1048576, default 32, RULE floor|ceil|even|rceil, default "
      "floor), nvfp4[:blockN] (default 16), int:B[:SCOPE] (B 2..24), dt8[:SCOPE]; "
      "SCOPE tensor|row|col|blockN; also";
  for (const FormatAlias& a : kAliases) out += std::string(" ") + a.alias;
  return out;
}

Format parse_format(std::string_view spelling) {
  std::string text = ascii_lower(spelling);
  for (const FormatAlias& a : kAliases)
    if (text == a.alias) text = a.name;
  const auto parts = split(text, ':');
  if (parts.empty() || parts[0].empty()) fail(spelling, "empty spelling");
  const std::string& head = parts[0];
  Format format;

  if (head == "fp32" && parts.size() == 1) {
    format.kind = FormatKind::kIdentity;
    format.spelling = "fp32";
    return format;
  }
  if (const NamedFloat* named = find_named_float(head)) {
    expect_fields(spelling, parts, 1, 2, "NAME or NAME:nosat");
    format.kind = FormatKind::kFloat;
    format.element = named->format;
    format.bits = format.element.has_sign() + format.element.exp_bits + format.element.man_bits;
    format.spelling = named->name;
    if (parts.size() == 2) {
      if (parts[1] != "nosat") fail(spelling, "the 2nd field '" + parts[1] + "' must be 'nosat'");
      if (!format.element.has_nan())
        fail(spelling, head + " has no NaN or Inf to overflow to (it always saturates)");
      // Already non-saturating formats (IEEE ones, e8m0) keep their own spelling.
      if (format.element.saturate) format.spelling += ":nosat";
      format.element.saturate = false;
    }
    return format;
  }
  if (head == "float") {
    expect_fields(spelling, parts, 3, 4, "float:E:M or float:E:M:sat");
    format.kind = FormatKind::kFloat;
    format.element.exp_bits = parse_int(spelling, "E", parts[1], 1, 8);
    format.element.man_bits = parse_int(spelling, "M", parts[2], 0, 23);
    if (parts.size() == 4) {
      if (parts[3] != "sat") fail(spelling, "the 4th field '" + parts[3] + "' must be 'sat'");
      format.element.saturate = true;
    }
    format.bits = 1 + format.element.exp_bits + format.element.man_bits;
    format.spelling = "float:" + std::to_string(format.element.exp_bits) + ":" +
                      std::to_string(format.element.man_bits) +
                      (format.element.saturate ? ":sat" : "");
    return format;
  }
  if (head == "posit" || head == "posit8" || head == "posit16" || head == "posit32") {
    format.kind = FormatKind::kPosit;
    if (head == "posit") {
      expect_fields(spelling, parts, 3, 3, "posit:N:ES");
      format.bits = parse_int(spelling, "N", parts[1], 2, 32);
      format.posit_es = parse_int(spelling, "ES", parts[2], 0, 4);
    } else {
      expect_fields(spelling, parts, 1, 1, head.c_str());
      format.bits = std::stoi(head.substr(5));
      format.posit_es = 2;  // the 2022 Posit Standard
    }
    // Simulated on float32: every posit value must be a normal float32.
    if ((format.bits - 2) * (1 << format.posit_es) > 126)
      fail(spelling, "posit:" + std::to_string(format.bits) + ":" +
                         std::to_string(format.posit_es) + " reaches 2^" +
                         std::to_string((format.bits - 2) * (1 << format.posit_es)) +
                         ", beyond float32; (N-2)*2^ES must be at most 126");
    format.spelling =
        format.posit_es == 2 && (format.bits == 8 || format.bits == 16 || format.bits == 32)
            ? "posit" + std::to_string(format.bits)
            : "posit:" + std::to_string(format.bits) + ":" + std::to_string(format.posit_es);
    return format;
  }
  if (head == "nvfp4") {
    expect_fields(spelling, parts, 1, 2, "nvfp4[:blockN]");
    format.kind = FormatKind::kNvfp4;
    format.element = parse_format("fp4e2m1").element;
    format.bits = 4;
    format.scope = {ScopeKind::kBlock, 16};
    if (parts.size() == 2) format.scope = parse_scope(spelling, parts[1], true);
    format.spelling = "nvfp4:" + scope_spelling(format.scope);
    return format;
  }
  if (head == "fixed") {
    expect_fields(spelling, parts, 3, 3, "fixed:WL:FL");
    format.kind = FormatKind::kFixed;
    format.bits = parse_int(spelling, "WL", parts[1], 2, 32);
    format.frac_bits = parse_int(spelling, "FL", parts[2], -64, 64);
    format.spelling =
        "fixed:" + std::to_string(format.bits) + ":" + std::to_string(format.frac_bits);
    return format;
  }
  if (head == "bfp" || head == "int") {
    expect_fields(spelling, parts, 2, 3, head == "bfp" ? "bfp:WL[:SCOPE]" : "int:B[:SCOPE]");
    format.kind = head == "bfp" ? FormatKind::kBlockFloat : FormatKind::kInt;
    format.bits = head == "bfp" ? parse_int(spelling, "WL", parts[1], 2, 32)
                                : parse_int(spelling, "B", parts[1], 2, 24);
    if (parts.size() == 3) format.scope = parse_scope(spelling, parts[2], false);
    format.spelling = head + ":" + std::to_string(format.bits) + ":" + scope_spelling(format.scope);
    return format;
  }
  if (head == "dt8") {
    expect_fields(spelling, parts, 1, 2, "dt8[:SCOPE]");
    format.kind = FormatKind::kDynamicTree;
    format.bits = 8;
    if (parts.size() == 2) format.scope = parse_scope(spelling, parts[1], false);
    format.spelling = "dt8:" + scope_spelling(format.scope);
    return format;
  }
  if (head == "mx") {
    expect_fields(spelling, parts, 2, 4, "mx:ELEM[:blockN][:scale=RULE]");
    format.kind = FormatKind::kMx;
    format.scope = {ScopeKind::kBlock, 32};
    bool known = false;
    for (const auto& entry : kMxElements) {
      if (parts[1] == entry.name) {
        known = true;
        format.mx_emax = entry.emax;
      }
    }
    if (!known)
      fail(spelling, "MX element '" + parts[1] +
                         "' is not one of fp8e4m3, fp8e5m2, fp6e3m2, fp6e2m3, fp4e2m1, int8");
    if (parts[1] == "int8") {
      format.mx_int8 = true;
      format.bits = 8;
    } else {
      format.element = parse_format(parts[1]).element;
      format.element.saturate = true;  // MX elements saturate (OCP MX v1.0), E5M2 included
      format.bits = 1 + format.element.exp_bits + format.element.man_bits;
    }
    // Optional fields: blockN, then scale=RULE.
    size_t next = 2;
    if (next < parts.size() && parts[next].rfind("scale=", 0) != 0)
      format.scope = parse_scope(spelling, parts[next++], true);
    if (next < parts.size()) {
      const std::string& field = parts[next++];
      if (field.rfind("scale=", 0) != 0)
        fail(spelling, "'" + field + "' is not scale=RULE (RULE floor, ceil, even, rceil)");
      format.mx_scale = parse_mx_scale_rule(spelling, field.substr(6));
    }
    if (next < parts.size()) fail(spelling, "expected mx:ELEM[:blockN][:scale=RULE]");
    format.spelling =
        "mx:" + parts[1] + ":" + scope_spelling(format.scope) + mx_scale_suffix(format.mx_scale);
    return format;
  }
  fail(spelling, "unknown format name '" + head + "'");
}

bool names_scope(std::string_view spelling) {
  const Format format = parse_format(spelling);
  if (!format.shares_scale()) return false;
  const auto parts = split(ascii_lower(spelling), ':');
  if (format.kind == FormatKind::kMx) return parts.size() > 2 && parts[2].rfind("scale=", 0) != 0;
  const bool one_field_head = format.kind == FormatKind::kDynamicTree ||
                              format.kind == FormatKind::kNvfp4;  // dt8[:SCOPE], nvfp4[:blockN]
  return parts.size() == (one_field_head ? 2u : 3u);
}

Format with_scope(const Format& format, Scope scope) {
  if (!format.shares_scale())
    throw InvalidInput("format '" + format.spelling + "' has no scope to set");
  const auto parts = split(format.spelling, ':');  // canonical: head[:WL]:SCOPE[:scale=RULE]
  std::string head = format.kind == FormatKind::kMx
                         ? parts[0] + ":" + parts[1]
                         : format.spelling.substr(0, format.spelling.rfind(':'));
  const std::string rule = format.kind == FormatKind::kMx ? mx_scale_suffix(format.mx_scale) : "";
  return parse_format(head + ":" + scope_spelling(scope) + rule);
}

std::vector<std::string> named_format_spellings() {
  std::vector<std::string> names = {"fp32"};
  for (const auto& f : named_floats()) names.push_back(f.name);
  return names;
}

FormatInfo format_info(const Format& format) {
  FormatInfo info;
  info.name = format.spelling;
  info.bits = format.bits;
  switch (format.kind) {
    case FormatKind::kIdentity:
      info.definition = "IEEE binary32, identity";
      info.max_value = 3.4028234663852886e38;
      info.min_normal = std::ldexp(1.0, -126);
      info.min_subnormal = std::ldexp(1.0, -149);
      info.epsilon = std::ldexp(1.0, -23);
      break;
    case FormatKind::kFloat: {
      const FloatFormat& f = format.element;
      info.definition = "E" + std::to_string(f.exp_bits) + "M" + std::to_string(f.man_bits) +
                        (f.has_inf()   ? ", Inf/NaN"
                         : f.has_nan() ? ", NaN, no Inf"
                                       : ", no Inf/NaN") +
                        (f.saturate ? ", saturating" : "");
      for (const auto& named : named_floats()) {
        if (format.spelling == named.name) info.definition = named.definition;
        if (format.spelling == named.name || format.spelling == std::string(named.name) + ":nosat")
          info.ml_dtypes = named.ml_dtypes;
      }
      info.saturating = f.saturate;
      if (format.spelling.size() > 6 &&
          format.spelling.compare(format.spelling.size() - 6, 6, ":nosat") == 0)
        info.definition += "; overflow to NaN (ml_dtypes' cast)";
      info.max_value = f.max_finite();
      info.min_normal = f.min_normal();
      info.min_subnormal = f.min_subnormal();
      info.epsilon = f.epsilon();
      break;
    }
    case FormatKind::kFixed: {
      const double step = std::ldexp(1.0, -format.frac_bits);
      info.definition = "signed fixed point, step 2^-FL, saturating";
      info.max_value = std::ldexp(1.0, format.bits - 1) * step - step;
      info.min_normal = step;
      info.min_subnormal = step;
      info.epsilon = step;
      break;
    }
    case FormatKind::kBlockFloat:
      info.definition = "block floating point, shared exponent per " + format.scope_name();
      info.scaled = true;
      info.max_value = std::ldexp(1.0, format.bits - 1) - 1;  // in steps of 2^(E+2-WL)
      info.min_normal = info.min_subnormal = info.epsilon = 1;
      break;
    case FormatKind::kMx:
      info.definition = "OCP MX, E8M0 scale per " + format.scope_name() + ", " +
                        kMxScaleRuleNames[int(format.mx_scale)] + " rule";
      info.scaled = true;
      if (format.mx_int8) {
        info.max_value = 127.0 / 64;
        info.min_normal = info.min_subnormal = info.epsilon = 1.0 / 64;
      } else {
        info.max_value = format.element.max_finite();
        info.min_normal = format.element.min_normal();
        info.min_subnormal = format.element.min_subnormal();
        info.epsilon = format.element.epsilon();
      }
      break;
    case FormatKind::kInt:
      info.definition =
          "symmetric linear code, scale absmax/(2^(B-1)-1) per " + format.scope_name();
      info.scaled = true;
      info.max_value = std::ldexp(1.0, format.bits - 1) - 1;
      info.min_normal = info.min_subnormal = info.epsilon = 1;
      break;
    case FormatKind::kPosit: {
      const int scale_max = (format.bits - 2) * (1 << format.posit_es);
      const int fraction_bits_at_one = format.bits - 3 - format.posit_es;
      info.definition = "posit, ES " + std::to_string(format.posit_es) +
                        (format.posit_es == 2 ? " (2022 Posit Standard)" : "") +
                        ": tapered, one zero, NaR for NaN/Inf, never rounds to 0 or NaR";
      info.max_value = std::ldexp(1.0, scale_max);
      info.min_normal = info.min_subnormal = std::ldexp(1.0, -scale_max);
      info.epsilon = std::ldexp(1.0, -std::max(fraction_bits_at_one, 0));
      break;
    }
    case FormatKind::kNvfp4:
      info.definition = "NVIDIA NVFP4: fp4e2m1, E4M3 scale (amax/6) per " + format.scope_name() +
                        ", fp32 tensor scale amax/(6*448)";
      info.scaled = true;
      info.max_value = 6;
      info.min_normal = 1;
      info.min_subnormal = info.epsilon = 0.5;
      break;
    case FormatKind::kDynamicTree:
      info.definition = "Dettmers dynamic tree code, absmax-normalized per " + format.scope_name();
      info.scaled = true;
      info.max_value = 1;
      info.min_normal = info.min_subnormal = 1e-6;
      info.epsilon = 0.9 / 64;
      break;
  }
  return info;
}

std::string Format::scope_name() const { return scope_spelling(scope); }

std::vector<FormatInfo> format_table() {
  std::vector<FormatInfo> table;
  for (const auto& name : named_format_spellings())
    table.push_back(format_info(parse_format(name)));
  for (const char* example : {"fp8e4m3:nosat",
                              "fp8e4m3fnuz:nosat",
                              "fp8e5m2fnuz:nosat",
                              "float:4:3",
                              "float:4:3:sat",
                              "fixed:8:6",
                              "bfp:8",
                              "mx:fp8e4m3",
                              "mx:fp8e4m3:block32:scale=ceil",
                              "mx:fp8e4m3:block32:scale=even",
                              "mx:fp8e4m3:block32:scale=rceil",
                              "mx:fp4e2m1",
                              "mx:int8",
                              "int:8",
                              "dt8",
                              "nvfp4",
                              "posit8",
                              "posit16",
                              "posit32",
                              "posit:8:0",
                              "posit:16:1"})
    table.push_back(format_info(parse_format(example)));
  return table;
}

}  // namespace swalp
