#include "training_progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace swalp::cli {

TrainingProgress::TrainingProgress() : bar_(isatty(fileno(stderr)) != 0) {}

void TrainingProgress::on_step(const engine::StepProgress& p) {
  if (!bar_) return;
  // Redraw at most ten times a second, and always at the end of the epoch.
  const auto now = std::chrono::steady_clock::now();
  if (p.batch != p.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = int(kWidth * p.batch / (p.batches > 0 ? p.batches : 1));
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::fprintf(stderr, "\r  epoch %d/%d [%s] %3d%%  loss %.4f", p.epoch, p.epochs, bar.c_str(),
               int(100 * p.batch / (p.batches > 0 ? p.batches : 1)), p.loss);
  std::fflush(stderr);
  drawn_ = true;
}

void TrainingProgress::on_epoch(const engine::EpochMetrics& m) {
  if (drawn_) std::fputs("\r\033[K", stderr);  // erase the bar; the log line replaces it
  drawn_ = false;
  char swa[32] = "-";
  if (m.test_error_swa >= 0) std::snprintf(swa, sizeof swa, "%.2f%%", m.test_error_swa);
  std::fprintf(stderr,
               "  epoch %3d  lr %.4f  loss %.4f  train %.2f%%  test SGD %.2f%%  SWA %s  %.1fs\n",
               m.epoch, m.lr, m.train_loss, m.train_error, m.test_error_sgd, swa, m.seconds);
}

}  // namespace swalp::cli
