#include "strict_numbers.h"

#include <cstdio>
#include <string>

#include "swalp/decimal.h"

namespace swalp::cli {

namespace {
enum class NumberKind { kNone, kSigned, kUnsigned, kReal };

NumberKind kind_of(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  const auto starts = [&](const char* prefix) { return type.rfind(prefix, 0) == 0; };
  if (starts("UINT")) return NumberKind::kUnsigned;
  if (starts("INT")) return NumberKind::kSigned;
  if (starts("FLOAT")) return NumberKind::kReal;
  return NumberKind::kNone;
}

// Runs before the option's other checks (CLI::Range parses the text too) and hands CLI11 a
// canonical spelling it cannot misread ("+010" becomes "10").
CLI::Validator strict(NumberKind kind) {
  return CLI::Validator(
      [kind](std::string& text) -> std::string {
        switch (kind) {
          case NumberKind::kSigned:
            if (const auto v = parse_decimal_int(text)) {
              text = std::to_string(*v);
              return {};
            }
            return "'" + text + "' is not a decimal integer (digits with an optional sign)";
          case NumberKind::kUnsigned:
            if (const auto v = parse_decimal_uint(text)) {
              text = std::to_string(*v);
              return {};
            }
            return "'" + text + "' is not a non-negative decimal integer";
          case NumberKind::kReal:
            if (parse_decimal_real(text)) return {};
            return "'" + text + "' is not a finite decimal number";
          case NumberKind::kNone:
            return {};
        }
        return {};
      },
      "");
}
}  // namespace

namespace {
CLI::Validator bound(double low, bool strict) {
  char shown[32];
  std::snprintf(shown, sizeof shown, "%g", low);
  const std::string rule = std::string(strict ? "> " : ">= ") + shown;
  return CLI::Validator(
      [low, strict, rule](std::string& text) -> std::string {
        const auto v = parse_decimal_real(text);
        if (!v) return "'" + text + "' is not a finite decimal number";
        if (strict ? *v > low : *v >= low) return {};
        return "'" + text + "' must be " + rule;
      },
      rule);
}
}  // namespace

CLI::Validator greater_than(double low) { return bound(low, true); }
CLI::Validator at_least(double low) { return bound(low, false); }

void make_numbers_strict(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const NumberKind kind = kind_of(*option);
    if (kind != NumberKind::kNone) option->transform(strict(kind));
  }
  for (CLI::App* sub : app.get_subcommands({})) make_numbers_strict(*sub);
}

}  // namespace swalp::cli
