// Rounding modes. Directed modes follow IEEE-754: `up` toward +Inf, `down` toward -Inf,
// `zero` toward zero. `nearest` breaks ties to the even neighbour. `stochastic` rounds the
// magnitude away from zero with probability equal to its distance fraction from the lower
// neighbour (see quantize.h for the exact rule on the random bits).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace swalp {

enum class Rounding { kNearest, kStochastic, kZero, kUp, kDown };

// Spelling of a rounding mode, as accepted by parse_rounding.
std::string_view rounding_name(Rounding rounding);

// All modes, in the order `swalp` lists them.
const std::vector<Rounding>& all_roundings();

// A rounding spelling: a mode, and for `stochastic:R` the random bits R (1..24) it sees.
struct RoundingSpelling {
  Rounding mode = Rounding::kNearest;
  int stochastic_bits = 24;
};

// Case-insensitive. Throws InvalidInput naming the accepted spellings.
RoundingSpelling parse_rounding_spelling(std::string_view spelling);
Rounding parse_rounding(std::string_view spelling);  // the mode of parse_rounding_spelling
// The spelling back: rounding_name, or `stochastic:R` when R < 24.
std::string rounding_spelling(const RoundingSpelling& rounding);

}  // namespace swalp
