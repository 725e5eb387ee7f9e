#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <torch/serialize/archive.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "io/atomic_file.h"
#include "swalp/error.h"

namespace swalp::engine {

namespace {

constexpr char kTrailerMagic[8] = {'S', 'W', 'A', 'L', 'P', 'C', 'K', '\0'};
constexpr size_t kTrailerSize = 24;
constexpr uint32_t kTrailerVersion = 1;

// CRC-32 continued over `size` bytes (zlib's crc32 takes at most 4 GiB at a time).
uLong crc_update(uLong crc, const void* data, size_t size) {
  const auto* bytes = static_cast<const Bytef*>(data);
  for (size_t at = 0; at < size; at += size_t(1) << 30)
    crc = crc32(crc, bytes + at, uInt(std::min(size - at, size_t(1) << 30)));
  return crc;
}

uint32_t crc32_of(const std::string& bytes) {
  return uint32_t(crc_update(crc32(0L, Z_NULL, 0), bytes.data(), bytes.size()));
}

std::string checkpoint_trailer(const std::string& archive) {
  std::string t(kTrailerMagic, sizeof kTrailerMagic);
  const uint64_t length = archive.size();
  const uint32_t crc = crc32_of(archive), version = kTrailerVersion;
  for (int b = 0; b < 8; ++b) t.push_back(char((length >> (8 * b)) & 0xff));
  for (int b = 0; b < 4; ++b) t.push_back(char((crc >> (8 * b)) & 0xff));
  for (int b = 0; b < 4; ++b) t.push_back(char((version >> (8 * b)) & 0xff));
  return t;
}

// The archive bytes of a checkpoint file, after checking its trailer and checksum.
std::string checked_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput("cannot open checkpoint '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto little = [&](size_t at, int count) {
    uint64_t v = 0;
    for (int b = 0; b < count; ++b) v |= uint64_t(uint8_t(bytes[at + b])) << (8 * b);
    return v;
  };
  if (bytes.size() < kTrailerSize ||
      bytes.compare(bytes.size() - kTrailerSize, 8, kTrailerMagic, 8) != 0)
    throw InvalidInput("checkpoint '" + path +
                       "' is corrupt or not a swalp checkpoint (no swalp trailer: truncated, "
                       "damaged, or written by another program)");
  const size_t trailer = bytes.size() - kTrailerSize;
  if (little(trailer + 20, 4) != kTrailerVersion)
    throw InvalidInput(
        "checkpoint '" + path + "' has trailer version " + std::to_string(little(trailer + 20, 4)) +
        "; accepted: " + std::to_string(kTrailerVersion) + " (written by another swalp version)");
  if (little(trailer + 8, 8) != trailer)
    throw InvalidInput("checkpoint '" + path +
                       "' is corrupt: its length does not match its trailer");
  const uint32_t crc = uint32_t(little(trailer + 16, 4));
  bytes.resize(trailer);
  if (crc32_of(bytes) != crc)
    throw InvalidInput("checkpoint '" + path +
                       "' is corrupt: its checksum does not match its contents");
  return bytes;
}

}  // namespace

void write_checkpoint(const std::string& path, const NamedTensors& entries) {
  torch::serialize::OutputArchive archive;
  archive.write("version", at::tensor({kCheckpointVersion}));
  for (const auto& [name, tensor] : entries) archive.write(name, tensor.detach().cpu());
  // Serialized in memory first: libtorch's file writer aborts the process when the disk fills
  // (it throws from a destructor). The bytes then go through an atomic write.
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const std::exception& e) {
    throw RuntimeFailure("cannot write checkpoint '" + path + "': " + e.what());
  }
  const std::string archive_bytes = bytes.str();
  io::AtomicFileWriter writer(path);
  writer.write(archive_bytes);
  writer.write(checkpoint_trailer(archive_bytes));
  // Tests stretch the moment between the write and the rename, to kill the run inside it.
  if (const char* pause = std::getenv("SWALP_TEST_CHECKPOINT_PAUSE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(pause)));
  writer.commit();
}

struct CheckpointFile::Archive {
  torch::serialize::InputArchive archive;
};

CheckpointFile::CheckpointFile(const std::string& path)
    : path_(path), archive_(std::make_unique<Archive>()) {
  const std::string bytes = checked_archive(path);
  try {
    archive_->archive.load_from(bytes.data(), bytes.size());
  } catch (const std::exception&) {
    throw InvalidInput("checkpoint '" + path + "' is corrupt or not a swalp checkpoint");
  }
  const int64_t version = integer("version");
  if (version != kCheckpointVersion)
    throw InvalidInput("checkpoint '" + path + "' has format version " + std::to_string(version) +
                       "; accepted: " + std::to_string(kCheckpointVersion) +
                       " (written by another swalp version)");
}

CheckpointFile::~CheckpointFile() = default;

at::Tensor CheckpointFile::read(const std::string& name) const {
  at::Tensor t;
  bool found = false;
  try {
    found = archive_->archive.try_read(name, t);
  } catch (const std::exception&) {
    throw InvalidInput("checkpoint '" + path_ + "' is corrupt: entry '" + name +
                       "' does not read back");
  }
  if (!found) throw InvalidInput("checkpoint '" + path_ + "' lacks '" + name + "'");
  return t;
}

int64_t CheckpointFile::integer(const std::string& name) const {
  const at::Tensor t = read(name);
  if (t.numel() != 1 || t.scalar_type() != at::kLong)
    throw InvalidInput("checkpoint '" + path_ + "' is corrupt: '" + name + "' is not one integer");
  return t.item<int64_t>();
}

at::Tensor text_entry(const std::string& text) {
  at::Tensor bytes = at::empty({int64_t(text.size())}, at::kByte);
  std::memcpy(bytes.data_ptr(), text.data(), text.size());
  return bytes;
}

std::string CheckpointFile::text(const std::string& name) const {
  const at::Tensor t = read(name).contiguous();
  if (t.dim() != 1 || t.scalar_type() != at::kByte)
    throw InvalidInput("checkpoint '" + path_ + "' is corrupt: '" + name + "' is not text");
  return std::string(static_cast<const char*>(t.data_ptr()), size_t(t.numel()));
}

int64_t checksum_of(const NamedTensors& entries) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& [name, tensor] : entries) {
    const at::Tensor t = tensor.detach().cpu().contiguous();
    crc = crc_update(crc, name.data(), name.size());
    crc = crc_update(crc, t.data_ptr(), size_t(t.numel()) * t.element_size());
  }
  return int64_t(crc);
}

void remove_stale_temporaries(const std::string& checkpoint) {
  const std::filesystem::path target(checkpoint);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      std::filesystem::remove(entry.path(), ec);
}

}  // namespace swalp::engine
