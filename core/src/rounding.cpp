#include "swalp/rounding.h"

#include <algorithm>
#include <optional>

#include "swalp/decimal.h"
#include "swalp/error.h"
#include "swalp/text.h"

namespace swalp {

namespace {
struct RoundingName {
  Rounding rounding;
  const char* name;
};
// The one list of rounding spellings.
constexpr RoundingName kRoundings[] = {{Rounding::kNearest, "nearest"},
                                       {Rounding::kStochastic, "stochastic"},
                                       {Rounding::kZero, "zero"},
                                       {Rounding::kUp, "up"},
                                       {Rounding::kDown, "down"}};
}  // namespace

std::string_view rounding_name(Rounding rounding) {
  for (const auto& entry : kRoundings)
    if (entry.rounding == rounding) return entry.name;
  return "nearest";
}

std::string rounding_spelling(const RoundingSpelling& rounding) {
  if (rounding.mode == Rounding::kStochastic && rounding.stochastic_bits < 24)
    return "stochastic:" + std::to_string(rounding.stochastic_bits);
  return std::string(rounding_name(rounding.mode));
}

const std::vector<Rounding>& all_roundings() {
  static const std::vector<Rounding> all = [] {
    std::vector<Rounding> out;
    for (const auto& entry : kRoundings) out.push_back(entry.rounding);
    return out;
  }();
  return all;
}

RoundingSpelling parse_rounding_spelling(std::string_view spelling) {
  const std::string text = ascii_lower(spelling);
  std::string accepted;
  for (const auto& entry : kRoundings) {
    if (text == entry.name) return {entry.rounding, 24};
    accepted += (accepted.empty() ? "" : ", ") + std::string(entry.name);
  }
  accepted += ", stochastic:R (R random bits, 1..24)";
  const std::string prefix = "stochastic:";
  if (text.rfind(prefix, 0) == 0) {
    const std::optional<int64_t> bits = parse_decimal_int(text.substr(prefix.size()));
    if (bits && *bits >= 1 && *bits <= 24) return {Rounding::kStochastic, int(*bits)};
    throw InvalidInput("bad rounding '" + std::string(spelling) +
                       "': R must be a decimal integer in 1..24; accepted: " + accepted);
  }
  throw InvalidInput("bad rounding '" + std::string(spelling) + "'; accepted: " + accepted);
}

Rounding parse_rounding(std::string_view spelling) {
  return parse_rounding_spelling(spelling).mode;
}

}  // namespace swalp
