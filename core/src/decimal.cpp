#include "swalp/decimal.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace swalp {

namespace {
// from_chars reads decimal only but rejects a leading '+'; it then must consume everything.
template <typename T>
std::optional<T> parse_whole(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  if (text.empty() || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}
}  // namespace

std::optional<int64_t> parse_decimal_int(std::string_view text) {
  return parse_whole<int64_t>(text);
}

std::optional<uint64_t> parse_decimal_uint(std::string_view text) {
  if (!text.empty() && text[0] == '-') return std::nullopt;
  return parse_whole<uint64_t>(text);
}

std::optional<double> parse_decimal_real(std::string_view text) {
  // from_chars would read "inf", "nan" and "1e999" (as out of range): only finite digits pass.
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != 'E' &&
        c != '+' && c != '-')
      return std::nullopt;
  const auto value = parse_whole<double>(text);
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return value;
}

}  // namespace swalp
