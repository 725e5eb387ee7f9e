// Number formats: descriptors, the registry of named formats, and the spelling parser.
// Spellings are the contract of DESIGN.md section 3 and are shared by the library, the CLI and
// configuration files. Every format is simulated on float32: quantizing returns the float32 value
// of the nearest representable number (per the rounding mode), never packed codes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swalp {

// What the exponent field's extremes encode.
enum class SpecialValues {
  kIeee,     // IEEE-754: Inf (zero mantissa) and NaN; the finite range ends one binade lower
  kNanOnly,  // OCP E4M3FN: no Inf; only S.1111.111 is NaN, the other top-binade codes are finite
  kNone,     // OCP MX FP6/FP4: no Inf, no NaN; every code is finite
  kFnuz,     // AMD/Graphcore FNUZ: bias 2^(E-1), no Inf, no -0; NaN is the -0 code (0x80)
  kE8m0,     // OCP E8M0: unsigned powers of two 2^-127..2^127, no zero; 0xFF is NaN
};

// An IEEE-style binary float with `exp_bits` exponent bits (1..8), `man_bits` stored mantissa
// bits (0..23), bias 2^(exp_bits-1)-1 (FNUZ: 2^(exp_bits-1)) and gradual underflow.
struct FloatFormat {
  int exp_bits = 8;
  int man_bits = 23;
  SpecialValues specials = SpecialValues::kIeee;
  // Overflow (and Inf input) goes to +-max. Otherwise an overflow the rounding mode carries away
  // from zero is Inf, or NaN in a format without Inf (ml_dtypes' casts, `:nosat`).
  bool saturate = false;

  int bias() const {
    return specials == SpecialValues::kFnuz ? 1 << (exp_bits - 1) : (1 << (exp_bits - 1)) - 1;
  }
  // Exponent of the smallest normal. E8M0's zero field is 2^-127: it has no subnormals.
  int emin() const { return specials == SpecialValues::kE8m0 ? -bias() : 1 - bias(); }
  // Largest exponent of a finite number; below emin when the format has no normal numbers.
  int emax() const;
  // Largest finite magnitude, smallest normal, smallest subnormal, and 2^-man_bits.
  double max_finite() const;
  double min_normal() const;
  double min_subnormal() const;
  double epsilon() const;
  bool has_inf() const { return specials == SpecialValues::kIeee; }
  bool has_nan() const { return specials != SpecialValues::kNone; }
  bool has_negative_zero() const {
    return specials != SpecialValues::kFnuz && specials != SpecialValues::kE8m0;
  }
  bool has_sign() const { return specials != SpecialValues::kE8m0; }
};

enum class ScopeKind { kTensor, kRow, kCol, kBlock };

// Which elements share one scale. Row and col view an N-D tensor as [dim0, product of the rest];
// blockN takes N consecutive elements of the last dimension (the last block of a row may be short).
struct Scope {
  ScopeKind kind = ScopeKind::kTensor;
  int64_t block = 0;  // N for kBlock
};

enum class FormatKind {
  kIdentity,     // fp32
  kFloat,        // float:E:M[:sat] and the named small floats
  kFixed,        // fixed:WL:FL
  kBlockFloat,   // bfp:WL[:SCOPE]
  kMx,           // mx:ELEM[:blockN]
  kInt,          // int:B[:SCOPE]
  kDynamicTree,  // dt8[:SCOPE]
  kPosit,        // posit:N:ES, posit8|16|32
  kNvfp4,        // nvfp4[:blockN]: fp4e2m1, E4M3 block scale, fp32 tensor scale
};

// How an MX block's E8M0 scale 2^s follows from the block's amax (docs/formats.md has a worked
// example; the rules are torchao's ScaleCalculationMode, the last one cuBLAS's):
enum class MxScaleRule {
  kFloor,  // OCP MX v1.0: s = floor(log2 amax) - emax(ELEM); the block maximum may clip
  kCeil,   // s = ceil(log2 amax) - emax(ELEM)
  kEven,   // amax rounded (half up) to ELEM's mantissa bits first, then floor
  kRceil,  // s = ceil(log2(amax / max(ELEM))), amax / max in float32: nothing clips
};

struct Format {
  FormatKind kind = FormatKind::kIdentity;
  FloatFormat element;   // kFloat, and kMx with a float element
  int bits = 32;         // kFixed/kBlockFloat: word length; kInt: B; kMx: element bits
  int frac_bits = 0;     // kFixed: FL
  Scope scope;           // shared-scale kinds
  bool mx_int8 = false;  // kMx with MXINT8 elements (fixed point 1.6, symmetric +-127)
  int mx_emax = 0;       // kMx: emax of the element (OCP MX v1.0); scale 2^(floor(log2 amax)-emax)
  MxScaleRule mx_scale = MxScaleRule::kFloor;  // kMx
  int posit_es = 0;                            // kPosit: exponent bits ES (N is `bits`)
  std::string spelling;  // canonical lower-case spelling; parse_format(spelling) == *this

  bool shares_scale() const {
    return kind == FormatKind::kBlockFloat || kind == FormatKind::kMx || kind == FormatKind::kInt ||
           kind == FormatKind::kDynamicTree || kind == FormatKind::kNvfp4;
  }
  // MX and NVFP4: the scope is always blockN.
  bool block_scope_only() const { return kind == FormatKind::kMx || kind == FormatKind::kNvfp4; }
  // Spelling of the scope: tensor, row, col or blockN.
  std::string scope_name() const;
};

// Parses a spelling of DESIGN.md section 3 (case-insensitive). Throws InvalidInput naming the
// problem, the offending value and the accepted spellings or range.
Format parse_format(std::string_view spelling);

// Whether a spelling of a shared-scale family names its scope ("bfp:8:row", "dt8:block64",
// "mx:fp8e4m3:block16") rather than taking the default ("bfp:8", "dt8", "mx:fp8e4m3"). False for
// every other spelling. Throws InvalidInput for a bad spelling.
bool names_scope(std::string_view spelling);

// `format` with another scope (its spelling updated). Throws InvalidInput for a format that has
// no scope or an MX format given a scope other than blockN.
Format with_scope(const Format& format, Scope scope);

// One row of `swalp formats`.
struct FormatInfo {
  std::string name;
  std::string definition;  // what the name stands for
  int bits = 0;            // bits per element (shared scales not counted)
  bool scaled = false;     // values below are relative to a shared scale
  double max_value = 0, min_normal = 0, min_subnormal = 0, epsilon = 0;
  bool saturating = false;  // a float format that clamps overflow to +-max
  std::string ml_dtypes;    // the ml_dtypes type with the same values, empty when none
};

// Every named format (fp32, bf16, ..., fp4e2m1) and one example of each parametric family,
// derived from the one registry in format.cpp. Used by `swalp formats` and by the test loops.
std::vector<FormatInfo> format_table();
FormatInfo format_info(const Format& format);

// Every spelling with a name of its own, in registry order.
std::vector<std::string> named_format_spellings();

// Human-readable list of the accepted spellings, for error messages and --help.
std::string accepted_format_spellings();

}  // namespace swalp
