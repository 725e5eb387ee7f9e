// An output directory held by one process at a time: two runs writing the same results would
// leave files from both. The lock is an flock on DIR/.swalp.lock (released when the process ends,
// however it ends), which also proves the directory writable before any long work starts.
#pragma once

#include <string>

namespace swalp::io {

class DirectoryLock {
 public:
  // Creates `dir` if needed and locks it. Throws RuntimeFailure when it cannot be created or
  // written, InvalidInput (naming the holder's pid) when another process holds it.
  explicit DirectoryLock(const std::string& dir);
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  int fd_ = -1;
};

}  // namespace swalp::io
