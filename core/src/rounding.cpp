#include "swalp/rounding.h"

#include <algorithm>

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

const std::vector<Rounding>& all_roundings() {
  static const std::vector<Rounding> all = [] {
    std::vector<Rounding> out;
    for (const auto& entry : kRoundings) out.push_back(entry.rounding);
    return out;
  }();
  return all;
}

Rounding parse_rounding(std::string_view spelling) {
  const std::string text = ascii_lower(spelling);
  std::string accepted;
  for (const auto& entry : kRoundings) {
    if (text == entry.name) return entry.rounding;
    accepted += (accepted.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw InvalidInput("bad rounding '" + std::string(spelling) + "'; accepted: " + accepted);
}

}  // namespace swalp
