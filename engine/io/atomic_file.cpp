#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "swalp/error.h"

namespace swalp::io {

namespace {
[[noreturn]] void fail(const std::string& path, int error) {
  throw RuntimeFailure("cannot write '" + path + "': " + std::strerror(error));
}
}  // namespace

void make_directories(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw RuntimeFailure("cannot create directory '" + dir + "': " + ec.message());
}

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  const std::filesystem::path target(path_);
  if (target.has_parent_path()) make_directories(target.parent_path().string());
  temporary_ = path_ + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temporary_.c_str());
  }
}

void AtomicFileWriter::write(std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path_, n < 0 ? errno : ENOSPC);
    written += size_t(n);
  }
}

void AtomicFileWriter::commit() {
  const int synced = ::fsync(fd_) == 0 ? 0 : errno;
  const int closed = ::close(fd_) == 0 ? 0 : errno;
  fd_ = -1;
  if (synced || closed || ::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int error = synced ? synced : closed ? closed : errno;
    ::unlink(temporary_.c_str());
    fail(path_, error);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFileWriter writer(path);
  writer.write(bytes);
  writer.commit();
}

}  // namespace swalp::io
