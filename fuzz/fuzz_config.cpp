// `swalp train` config files (TOML): the loader accepts or throws InvalidInput; an accepted
// config's resolved config.toml loads back to the same settings (the same text again).
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "swalp/error.h"
#include "train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swalp;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cli::TrainArgs first;
  try {
    cli::load_config_text(text, "fuzz.toml", first);
  } catch (const InvalidInput&) {
    return 0;
  }
  const std::string resolved = cli::resolved_config(first);
  cli::TrainArgs second;
  try {
    cli::load_config_text(resolved, "resolved.toml", second);
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "%s\n---\n%s\n", e.what(), resolved.c_str());
    fuzz::require(false, "a resolved config does not load back");
  }
  fuzz::require(cli::resolved_config(second) == resolved, "a resolved config changes on reload");
  return 0;
}
