// `swalp formats`: every named format with its range, from the one registry.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "swalp/format.h"

namespace swalp::cli {

void register_formats(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "formats", "Table of every named format: bits, max, min normal, min subnormal, epsilon");
  static bool json = false;
  cmd->add_flag("--json", json, "One JSON object per format");
  cmd->callback([] {
    const auto table = format_table();
    if (json) {
      for (const auto& f : table)
        std::printf("%s\n", nlohmann::json{{"name", f.name},
                                           {"bits", f.bits},
                                           {"scaled", f.scaled},
                                           {"max", f.max_value},
                                           {"min_normal", f.min_normal},
                                           {"min_subnormal", f.min_subnormal},
                                           {"epsilon", f.epsilon},
                                           {"saturating", f.saturating},
                                           {"ml_dtypes", f.ml_dtypes},
                                           {"definition", f.definition}}
                                .dump()
                                .c_str());
      return;
    }
    std::printf("%-18s %4s %13s %13s %13s %13s  %s\n", "name", "bits", "max", "min normal",
                "min subnormal", "epsilon", "definition");
    for (const auto& f : table)
      std::printf("%-18s %4d %13.6g %13.6g %13.6g %13.6g  %s%s\n", f.name.c_str(), f.bits,
                  f.max_value, f.min_normal, f.min_subnormal, f.epsilon, f.definition.c_str(),
                  f.scaled ? " [values relative to the shared scale]" : "");
    std::printf(
        "\nAccepted spellings: %s\nRoundings: nearest (ties to even), stochastic, stochastic:R (R "
        "random bits, 1..24), zero, up, down\n",
        accepted_format_spellings().c_str());
  });
}

}  // namespace swalp::cli
