#include "input_output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "io/atomic_file.h"
#include "swalp/error.h"

namespace swalp::cli {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "raw float32 I/O assumes a little-endian host");

namespace {
std::FILE* open_input(const std::string& path) {
  if (path.empty() || path == "-") return stdin;
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    throw InvalidInput("cannot read input file '" + path + "': it is a directory");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw InvalidInput("cannot open input file '" + path + "': " + std::strerror(errno));
  return file;
}
}  // namespace

std::string read_all(const std::string& path) {
  std::FILE* file = open_input(path);
  std::string bytes;
  std::vector<char> buffer(1 << 22);
  size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file)) > 0)
    bytes.append(buffer.data(), got);
  const bool failed = std::ferror(file);
  if (file != stdin) std::fclose(file);
  if (failed)
    throw RuntimeFailure("error while reading '" + (path.empty() ? std::string("stdin") : path) +
                         "'");
  return bytes;
}

namespace {

[[noreturn]] void not_whole_floats(size_t bytes) {
  throw InvalidInput("input has " + std::to_string(bytes) +
                     " bytes, not a multiple of 4: expected raw little-endian float32 "
                     "(or pass --text for one number per line)");
}

struct InputCloser {
  std::FILE* file;
  ~InputCloser() {
    if (file != stdin) std::fclose(file);
  }
};

// The reader thread of stream_raw_floats and the consumer share this; it outlives a reader
// left blocked on a pipe when the consumer fails (the thread is then detached).
struct SliceQueue {
  std::mutex mutex;
  std::condition_variable changed;
  // A filled slice's size is its count of whole floats; free ones are resized back to full.
  std::deque<std::vector<float>> free, filled;
  bool done = false;
  std::atomic<bool> stop = false;
  int read_error = 0;
  size_t pending = 0;
};

// Fills slices from `fd` until end of input; a float split across reads moves to the next
// slice. Pushes each non-empty slice with its count of whole floats.
void read_slices(int fd, size_t slice, const std::shared_ptr<SliceQueue>& queue) {
  size_t carry = 0;  // bytes of a split float at the start of the next slice
  char carried[sizeof(float)];
  for (;;) {
    std::vector<float> buffer;
    {
      std::unique_lock lock(queue->mutex);
      queue->changed.wait(lock, [&] { return queue->stop || !queue->free.empty(); });
      if (queue->stop) return;
      buffer = std::move(queue->free.front());
      queue->free.pop_front();
    }
    buffer.resize(slice);
    char* bytes = reinterpret_cast<char*>(buffer.data());
    std::memcpy(bytes, carried, carry);
    size_t filled = carry;
    int error = 0;
    bool end = false;
    while (filled < slice * sizeof(float) && !queue->stop) {
      const ssize_t got = ::read(fd, bytes + filled, slice * sizeof(float) - filled);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) error = errno;
      if (got <= 0) {
        end = true;
        break;
      }
      filled += size_t(got);
    }
    const size_t whole = filled / sizeof(float);
    carry = filled % sizeof(float);
    std::memcpy(carried, bytes + whole * sizeof(float), carry);
    std::lock_guard lock(queue->mutex);
    if (whole > 0) {
      buffer.resize(whole);
      queue->filled.push_back(std::move(buffer));
    }
    if (end) {
      queue->read_error = error;
      queue->pending = carry;
      queue->done = true;
    }
    queue->changed.notify_all();
    if (end) return;
  }
}
}  // namespace

size_t stream_raw_floats(const std::string& path, size_t slice,
                         const std::function<void(float*, size_t)>& consume) {
  std::FILE* file = open_input(path);
  InputCloser closer{file};
  const int fd = ::fileno(file);
  // A regular file's size is known: refuse a partial float before writing anything.
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size % sizeof(float) != 0)
    not_whole_floats(size_t(info.st_size));
  // Reading overlaps quantizing and writing: a pipe's writer never waits for our output.
  auto queue = std::make_shared<SliceQueue>();
  for (int i = 0; i < 4; ++i) queue->free.emplace_back(slice);
  std::thread reader(read_slices, fd, slice, queue);
  size_t total = 0;
  try {
    for (;;) {
      std::vector<float> buffer;
      {
        std::unique_lock lock(queue->mutex);
        queue->changed.wait(lock, [&] { return queue->done || !queue->filled.empty(); });
        if (queue->filled.empty()) break;
        buffer = std::move(queue->filled.front());
        queue->filled.pop_front();
      }
      consume(buffer.data(), buffer.size());
      total += buffer.size();
      std::lock_guard lock(queue->mutex);
      queue->free.push_back(std::move(buffer));
      queue->changed.notify_all();
    }
  } catch (...) {
    {
      std::lock_guard lock(queue->mutex);
      queue->stop = true;
      queue->changed.notify_all();
    }
    reader.detach();  // it may sit in read() on a pipe that never ends; the queue outlives it
    throw;
  }
  reader.join();
  if (queue->read_error)
    throw RuntimeFailure("error while reading '" + (path.empty() ? std::string("stdin") : path) +
                         "': " + std::strerror(queue->read_error));
  if (queue->pending) not_whole_floats(total * sizeof(float) + queue->pending);
  return total;
}

std::vector<float> read_raw_floats(const std::string& path) {
  std::FILE* file = open_input(path);
  InputCloser closer{file};
  std::vector<float> values(size_t(1) << 20);
  size_t bytes = 0;
  for (;;) {
    const size_t capacity = values.size() * sizeof(float);
    if (bytes == capacity) values.resize(values.size() * 2);
    const size_t got = std::fread(reinterpret_cast<char*>(values.data()) + bytes, 1,
                                  values.size() * sizeof(float) - bytes, file);
    bytes += got;
    if (got == 0) break;
  }
  if (std::ferror(file))
    throw RuntimeFailure("error while reading '" + (path.empty() ? std::string("stdin") : path) +
                         "'");
  if (bytes % sizeof(float)) not_whole_floats(bytes);
  values.resize(bytes / sizeof(float));
  return values;
}

namespace {
// Bytes as a message can show them: control and non-ASCII bytes (a binary file given with
// --text, a NUL that would end the message) as \xHH, long text cut with "...".
std::string printable(std::string_view bytes) {
  constexpr size_t kShown = 40;
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < kShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(char(c));
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", unsigned(c));
      out += escaped;
    }
  }
  if (bytes.size() > kShown) out += "...";
  return out;
}
}  // namespace

std::vector<float> decode_text_floats(const std::string& text) {
  std::vector<float> values;
  size_t line_number = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    size_t a = pos, b = end;
    while (a < b && std::isspace(static_cast<unsigned char>(text[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(text[b - 1]))) --b;
    pos = end + 1;
    if (a == b) continue;
    const char* first = text.data() + a;
    if (*first == '+') ++first;  // from_chars rejects a leading plus
    float value;
    const auto [ptr, ec] = std::from_chars(first, text.data() + b, value);
    if (ec == std::errc::result_out_of_range) {
      // Beyond float32's range: keep IEEE semantics (overflow to Inf, underflow to zero).
      value = std::strtof(std::string(first, text.data() + b).c_str(), nullptr);
    } else if (ec != std::errc() || ptr != text.data() + b) {
      throw InvalidInput("line " + std::to_string(line_number) + ": '" +
                         printable(std::string_view(text).substr(a, b - a)) +
                         "' is not a number (expected one decimal number per line, or nan/inf)");
    }
    values.push_back(value);
  }
  return values;
}

void write_raw_floats(const std::string& path, const std::vector<float>& values) {
  write_all(path, std::string_view(reinterpret_cast<const char*>(values.data()),
                                   values.size() * sizeof(float)));
}

std::string encode_text_floats(const std::vector<float>& values) {
  std::string out;
  out.reserve(values.size() * 12);
  char buffer[64];
  for (float v : values) {
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    out.append(buffer, result.ptr);
    out.push_back('\n');
  }
  return out;
}

void write_all(const std::string& path, std::string_view bytes) {
  if (!path.empty() && path != "-") {
    io::write_file_atomic(path, bytes);
    return;
  }
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() ||
      std::fflush(stdout) != 0)
    throw RuntimeFailure(std::string("cannot write to stdout: ") + std::strerror(errno));
}

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string field = text.substr(pos, end - pos);
    int64_t dim = -1;
    const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), dim);
    if (field.empty() || ec != std::errc() || ptr != field.data() + field.size() || dim < 0)
      throw InvalidInput("bad --shape '" + text + "': '" + field +
                         "' is not a non-negative integer (expected D0,D1,... e.g. 64,128)");
    shape.push_back(dim);
    pos = end + 1;
  }
  return shape;
}

}  // namespace swalp::cli
