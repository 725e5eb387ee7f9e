#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
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

namespace {
// The file a chain of symlinks ends at (which may not exist yet); `path` itself otherwise.
std::filesystem::path follow_symlinks(std::filesystem::path path) {
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec))) return path;
    const std::filesystem::path target = std::filesystem::read_symlink(path, ec);
    if (ec) return path;
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  throw RuntimeFailure("cannot write '" + path.string() + "': " + std::strerror(ELOOP));
}
}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    fd_ = ::dup(STDOUT_FILENO);
    if (fd_ < 0) fail("stdout", errno);
    return;
  }
  const std::filesystem::path target = follow_symlinks(path_);
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  if (exists && S_ISDIR(existing.st_mode))
    throw InvalidInput("cannot write '" + path_ + "': it is a directory (expected a file path)");
  if (exists && !S_ISREG(existing.st_mode)) {  // FIFO, device, socket: written in place
    fd_ = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) fail(path_, errno);
    return;
  }
  if (target.has_parent_path()) make_directories(target.parent_path().string());
  temporary_ = target.string() + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, errno);
  if (exists) ::fchmod(fd_, existing.st_mode & 07777);  // a replaced file keeps its mode
  target_ = target.string();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    if (!temporary_.empty()) ::unlink(temporary_.c_str());
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
  if (temporary_.empty()) {  // a pipe, a device or stdout: nothing to rename, nothing to sync
    const int closed = ::close(fd_) == 0 ? 0 : errno;
    fd_ = -1;
    if (closed) fail(path_, closed);
    return;
  }
  const int synced = ::fsync(fd_) == 0 ? 0 : errno;
  const int closed = ::close(fd_) == 0 ? 0 : errno;
  fd_ = -1;
  if (synced || closed || ::rename(temporary_.c_str(), target_.c_str()) != 0) {
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
