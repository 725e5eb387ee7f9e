// Result files are written to a temporary name in the same directory, flushed to disk, and
// renamed over the target: a kill or a full disk never leaves a half-written file behind.
#pragma once

#include <string>
#include <string_view>

namespace swalp::io {

// Writes `bytes` to `path` atomically. Creates missing parent directories. Throws
// RuntimeFailure naming the path and the system error; the previous file, if any, survives.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Creates `dir` and its parents if needed; throws RuntimeFailure if that fails.
void make_directories(const std::string& dir);

}  // namespace swalp::io
