#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/idx_reader.h"
#include "swalp/error.h"

namespace swalp::data {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("swalp_idx_test_" + name)).string();
}

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims,
                               const std::vector<uint8_t>& values) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, uint8_t(dims.size())};
  for (uint32_t d : dims)
    for (int shift : {24, 16, 8, 0}) bytes.push_back(uint8_t(d >> shift));
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

void write_plain(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

std::string error_of(const std::string& path) {
  try {
    read_idx(path);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "no error";
}

TEST(IdxReader, ReadsPlainAndGzipFiles) {
  const std::vector<uint8_t> values = {0, 1, 2, 3, 4, 5, 250, 255, 9, 10, 11, 12};
  const auto bytes = idx_bytes({3, 2, 2}, values);
  write_plain(temp_path("plain"), bytes);
  write_gzip(temp_path("gz.gz"), bytes);
  for (const auto& name : {"plain", "gz.gz"}) {
    const IdxArray a = read_idx(temp_path(name));
    EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 2, 2}));
    EXPECT_EQ(a.values, values);
  }
}

TEST(IdxReader, BadFilesGiveClearErrors) {
  EXPECT_NE(error_of(temp_path("missing")).find("cannot open data file"), std::string::npos);
  write_plain(temp_path("magic"), {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_NE(error_of(temp_path("magic")).find("bad magic number"), std::string::npos);
  auto wrong_type = idx_bytes({2}, {1, 2});
  wrong_type[2] = 0x0D;
  write_plain(temp_path("type"), wrong_type);
  EXPECT_NE(error_of(temp_path("type")).find("accepted: 0x08"), std::string::npos);
  write_plain(temp_path("short"), idx_bytes({4, 4}, {1, 2, 3}));
  EXPECT_NE(error_of(temp_path("short")).find("(truncated)"), std::string::npos);
  write_plain(temp_path("long"), idx_bytes({1}, {1, 2, 3}));
  EXPECT_NE(error_of(temp_path("long")).find("(trailing bytes)"), std::string::npos);
  auto header_cut = idx_bytes({5, 5}, {});
  header_cut.resize(6);
  write_plain(temp_path("header"), header_cut);
  EXPECT_NE(error_of(temp_path("header")).find("truncated (header)"), std::string::npos);
}

TEST(IdxReader, DimensionsWhoseProductOverflowsAreRefused) {
  // 2^32 - 1 to the 4th wraps a 64-bit product; a forged header must not match a short file.
  const std::string path = temp_path("overflow");
  write_plain(path, idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu},
                              std::vector<uint8_t>(16)));
  EXPECT_NE(error_of(path).find("dimensions' product exceeds"), std::string::npos)
      << error_of(path);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace swalp::data
