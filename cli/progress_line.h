// A one-line progress bar on stderr, redrawn in place, only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

namespace swalp::cli {

class ProgressLine {
 public:
  ProgressLine();  // enabled when stderr is a terminal
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}

  // "<label> [#####.....] 45% <detail>", at most ten redraws a second unless `force`.
  void draw(const std::string& label, double fraction, const std::string& detail = "",
            bool force = false);
  // Erases the line, so that a log line can take its place.
  void clear();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace swalp::cli
