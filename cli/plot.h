// PNG plots through gnuplot (Debian's gnuplot-nox). Plotting is best effort: without gnuplot
// the results are still written and the caller is told why no PNG appeared.
#pragma once

#include <string>

namespace swalp::cli {

// Runs `script` (gnuplot commands, paths relative to `dir`) inside `dir`. Returns false,
// with the reason in `why`, when gnuplot is missing or fails.
bool run_gnuplot(const std::string& dir, const std::string& script, std::string& why);

}  // namespace swalp::cli
