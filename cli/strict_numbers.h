// Every numeric option of every command read by the one strict decimal parser
// (swalp/decimal.h) instead of CLI11's strtoull, which reads "010" as octal, "0x10" as hex,
// "-1" into an unsigned option as 2^64 - 1 and clamps what overflows.
#pragma once

#include <CLI/CLI.hpp>

namespace swalp::cli {

// Installs the check on every INT, UINT and FLOAT option of `app` and its subcommands; call it
// after every command has registered its options.
void make_numbers_strict(CLI::App& app);

// Checks for real-valued options: above `low`, or at least `low`, with that bound in the message.
CLI::Validator greater_than(double low);
CLI::Validator at_least(double low);

}  // namespace swalp::cli
