#include "progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace swalp::cli {

ProgressLine::ProgressLine() : enabled_(isatty(fileno(stderr)) != 0) {}

void ProgressLine::draw(const std::string& label, double fraction, const std::string& detail,
                        bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = int(kWidth * fraction);
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::fprintf(stderr, "\r\033[K  %s [%s] %3d%%  %s", label.c_str(), bar.c_str(),
               int(100 * fraction), detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::clear() {
  if (drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

}  // namespace swalp::cli
