#include "training_progress.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace swalp::cli {

void TrainingProgress::on_step(const engine::StepProgress& p) {
  char label[64], detail[64];
  std::snprintf(label, sizeof label, "epoch %d/%d", p.epoch, p.epochs);
  std::snprintf(detail, sizeof detail, "loss %.4f", p.loss);
  line_.draw(label, double(p.batch) / double(p.batches > 0 ? p.batches : 1), detail,
             p.batch == p.batches);
}

void TrainingProgress::on_epoch(const engine::EpochMetrics& m) {
  line_.clear();
  char swa[64] = "-";
  if (m.test_error_swa >= 0 && m.test_error_swa_lp >= 0)
    std::snprintf(swa, sizeof swa, "%.2f%% (LP act. %.2f%%)", m.test_error_swa,
                  m.test_error_swa_lp);
  else if (m.test_error_swa >= 0 || m.test_error_swa_lp >= 0)
    std::snprintf(swa, sizeof swa, "%.2f%%", std::max(m.test_error_swa, m.test_error_swa_lp));
  std::fprintf(stderr,
               "  epoch %3d  lr %.4f  loss %.4f  train %.2f%%  test SGD %.2f%%  SWA %s  %.1fs\n",
               m.epoch, m.lr, m.train_loss, m.train_error, m.test_error_sgd, swa, m.seconds);
}

}  // namespace swalp::cli
