// Each subcommand registers itself on the app; its callback does the work and throws
// InvalidInput (exit 2) or RuntimeFailure (exit 1) on failure.
#pragma once

#include <CLI/CLI.hpp>

namespace swalp::cli {

void register_formats(CLI::App& app);
void register_quantize(CLI::App& app);
// `swalp bench` with its light subcommands (quantize, zipml); returns it for the others.
CLI::App& register_bench(CLI::App& app);
void register_error_stats(CLI::App& app);
// Training subcommands; without libtorch they exist and explain how to get them.
void register_reproduce(CLI::App& app);
void register_train(CLI::App& app);
void register_bench_train(CLI::App& bench);  // under `swalp bench`
void register_theory(CLI::App& app);
void register_zipml(CLI::App& app);
void register_accumulate(CLI::App& app);
void register_codecs(CLI::App& app);
void register_bench_comm(CLI::App& bench);    // under `swalp bench`
void register_bench_zipml(CLI::App& bench);   // under `swalp bench`
void register_bench_matmul(CLI::App& bench);  // under `swalp bench`

}  // namespace swalp::cli
