// The settings of `swalp train`: one table gives every setting its config.toml key, its flag and
// where its value lives; the TOML loader (unknown keys get a did-you-mean) and the writer of a
// run's resolved config.toml come from it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "train/trainer.h"

namespace swalp::cli {

struct TrainArgs {
  engine::TrainOptions options;
  std::string config, out, resume, data = "fashion-mnist", format;
  int64_t limit_train = 0, limit_test = 0;
  int threads = 0, stop_after = 0;
  // Data parallel (under mpirun): gradient codec, error feedback, values per scale.
  bool data_parallel = false, error_feedback = false;
  std::string grad_codec = "fp32", grad_exchange = "all-gather";
  uint64_t grad_block = 0;
  // Model parallel (under mpirun, train_model_parallel.h): hidden units of each split layer, the
  // codec of the exchanged activations and errors, values per scale. Not config.toml settings.
  bool model_parallel = false;
  int hidden = 512;
  std::string act_codec = "fp32";
  uint64_t act_block = 0;
};

// One setting of a run: its config.toml key (quant.* keys live in the [quant] table), its flag
// and where its value lives.
using Target = std::variant<std::string*, int*, double*, int64_t*, uint64_t*, bool*>;
using Value = std::variant<std::string, int, double, int64_t, uint64_t, bool>;
struct Setting {
  std::string key, flag, help;
  Target target;
};

std::vector<Setting> settings_of(TrainArgs& args);

// Applies a TOML file (or its text; `name` names it in errors) to args. Throws InvalidInput
// naming the problem: unreadable TOML (with the position), an unknown key (with the accepted
// ones and the closest), a value of the wrong type or out of range.
void load_config(const std::string& path, TrainArgs& args);
void load_config_text(std::string_view text, const std::string& name, TrainArgs& args);

// The config.toml of a run: every setting's value, loadable by load_config.
std::string resolved_config(TrainArgs& args);

}  // namespace swalp::cli
