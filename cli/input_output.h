// Reading and writing the float32 streams of `swalp quantize`, and small argument parsers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace swalp::cli {

// Whole contents of `path`, or of stdin when path is empty or "-".
std::string read_all(const std::string& path);

// Raw little-endian float32 from `path` (stdin when empty or "-"), read straight into the
// array; throws InvalidInput when the byte count is not a multiple of 4.
std::vector<float> read_raw_floats(const std::string& path);
// The same, streamed: calls `consume(values, count)` for consecutive slices of at most
// `slice` values; returns the total count.
size_t stream_raw_floats(const std::string& path, size_t slice,
                         const std::function<void(float*, size_t)>& consume);
// One decimal number per line (blank lines and surrounding spaces ignored; nan, inf accepted).
std::vector<float> decode_text_floats(const std::string& text);

// Raw floats to stdout (empty path or "-") or atomically to a file.
void write_raw_floats(const std::string& path, const std::vector<float>& values);
// Shortest decimal that reads back to the same float32, one per line.
std::string encode_text_floats(const std::vector<float>& values);

// To stdout when path is empty or "-", else atomically to the file.
void write_all(const std::string& path, std::string_view bytes);

// "D0,D1,..." into dimensions; throws InvalidInput naming the bad field.
std::vector<int64_t> parse_shape(const std::string& text);

}  // namespace swalp::cli
