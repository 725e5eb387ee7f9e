// Result files are written to a temporary name in the same directory, flushed to disk, and
// renamed over the target: a kill or a full disk never leaves a half-written file behind.
// What is not a regular file is never renamed over: a symlink is followed to its target (which
// is then replaced atomically), a FIFO, a device and "-" (stdout) are written directly.
#pragma once

#include <string>
#include <string_view>

namespace swalp::io {

// Streams bytes into a temporary file beside `path`; commit() flushes and renames it over
// `path`. Destroyed without commit() (an error, an exception), it removes the temporary and
// leaves any previous file at `path` untouched. Errors throw RuntimeFailure naming the path.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  void write(std::string_view bytes);
  void commit();

 private:
  std::string path_;                // as given, for messages
  std::string target_, temporary_;  // temporary_ empty: writing straight into path_
  int fd_ = -1;
};

// Writes `bytes` to `path` atomically (AtomicFileWriter). Creates missing parent directories.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Creates `dir` and its parents if needed; throws RuntimeFailure if that fails.
void make_directories(const std::string& dir);

}  // namespace swalp::io
