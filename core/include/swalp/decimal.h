// Strict decimal numbers, the one parser behind every command-line option, list field and
// format field: an optional sign and decimal digits (a fraction and exponent for reals).
// No hex, no octal reading of a leading zero ("010" is ten), no spaces, no empty text, no
// value beyond the type, and for reals nothing non-finite. std::nullopt when the text is not
// such a number.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace swalp {

std::optional<int64_t> parse_decimal_int(std::string_view text);
std::optional<uint64_t> parse_decimal_uint(std::string_view text);  // no minus sign
std::optional<double> parse_decimal_real(std::string_view text);    // finite only

}  // namespace swalp
