#include "io/directory_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/atomic_file.h"
#include "swalp/error.h"

namespace swalp::io {

DirectoryLock::DirectoryLock(const std::string& dir) {
  make_directories(dir);
  const std::string path = dir + "/.swalp.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw RuntimeFailure("cannot write to '" + dir + "': " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {0};
    const ssize_t got = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw InvalidInput("'" + dir + "' is in use by another swalp process" +
                         (got > 0 ? " (pid " + std::string(holder, size_t(got)) + ")" : "") +
                         "; wait for it to end or choose another --out");
    throw RuntimeFailure("cannot lock '" + path + "': " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw RuntimeFailure("cannot write '" + path + "': " + std::strerror(error));
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace swalp::io
