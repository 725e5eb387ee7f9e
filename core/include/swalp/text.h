// Small text helpers shared by the parsers of names (formats, roundings, codecs, CLI words),
// which accept any case.
#pragma once

#include <string>
#include <string_view>

namespace swalp {

// `text` with ASCII letters in lower case (other bytes unchanged, whatever the locale).
inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  return out;
}

}  // namespace swalp
