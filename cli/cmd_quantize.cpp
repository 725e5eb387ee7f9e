// `swalp quantize`: float32 in, the same count quantized out (DESIGN.md section 5).
#include <fcntl.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "commands.h"
#include "input_output.h"
#include "io/atomic_file.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp::cli {

namespace {
struct QuantizeArgs {
  std::string format, rounding = "nearest", shape, in, out;
  uint64_t seed = 0, stream = 0;
  bool text = false;
};

QuantizeArgs& args() {
  static QuantizeArgs parsed;
  return parsed;
}
bool args_text() { return args().text; }
[[noreturn]] void throw_empty_input() {
  throw InvalidInput(std::string("input is empty: expected float32 values (") +
                     (args_text() ? "one number per line)" : "raw little-endian)"));
}

// Fewer, larger transfers through a pipe (no effect on files; best effort).
void widen_pipe(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISFIFO(info.st_mode)) ::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

// Element-wise formats need no whole-array pass: quantize raw input slice by slice as it
// arrives (the random index continues across slices, so the result equals the whole-array
// one), at pipe speed and in bounded memory.
void quantize_stream(QuantSpec spec) {
  // A pipe, not arithmetic, bounds this loop: one thread quantizes a slice in microseconds,
  // while a team would spin on the second core the reading thread and the pipe's peers need.
  omp_set_num_threads(1);
  widen_pipe(STDIN_FILENO);
  widen_pipe(STDOUT_FILENO);
  constexpr size_t kSlice = size_t(1) << 18;  // 1 MiB: small enough to overlap I/O
  std::unique_ptr<io::AtomicFileWriter> file;
  if (!args().out.empty() && args().out != "-")
    file = std::make_unique<io::AtomicFileWriter>(args().out);
  const size_t total = stream_raw_floats(args().in, kSlice, [&](float* values, size_t count) {
    quantize(spec, values, values, count);
    spec.index_offset += count;
    const std::string_view bytes(reinterpret_cast<const char*>(values), count * sizeof(float));
    if (file) {
      file->write(bytes);
    } else if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size()) {
      throw RuntimeFailure(std::string("cannot write to stdout: ") + std::strerror(errno));
    }
  });
  if (total == 0) throw_empty_input();
  if (file)
    file->commit();
  else if (std::fflush(stdout) != 0)
    throw RuntimeFailure(std::string("cannot write to stdout: ") + std::strerror(errno));
}
}  // namespace

void register_quantize(CLI::App& app) {
  QuantizeArgs& args = swalp::cli::args();
  auto* cmd = app.add_subcommand("quantize", "Quantize float32 values to a simulated format");
  cmd->add_option("--format", args.format, "Format spelling (see swalp formats)")->required();
  cmd->add_option("--rounding", args.rounding, "nearest | stochastic | zero | up | down")
      ->capture_default_str();
  cmd->add_option("--seed", args.seed, "Seed of the stochastic-rounding stream")
      ->capture_default_str();
  cmd->add_option("--stream", args.stream, "Philox stream id (independent streams per seed)")
      ->capture_default_str();
  cmd->add_option("--shape", args.shape,
                  "Dimensions D0,D1,... (their product must equal the count)");
  cmd->add_option("--in", args.in, "Input file (default: stdin)");
  cmd->add_option("--out", args.out, "Output file, written atomically (default: stdout)");
  cmd->add_flag("--text", args.text,
                "One decimal number per line instead of raw little-endian float32");
  cmd->callback([&args] {
    // Validate the spellings before reading what may be a large input.
    const QuantSpec spec = make_quant_spec(args.format, args.rounding, args.seed, args.stream);
    const std::vector<int64_t> shape =
        args.shape.empty() ? std::vector<int64_t>{} : parse_shape(args.shape);
    if (!args.text && !spec.format.shares_scale() && shape.empty()) {
      quantize_stream(spec);
      return;
    }
    std::vector<float> values =
        args.text ? decode_text_floats(read_all(args.in)) : read_raw_floats(args.in);
    if (values.empty()) throw_empty_input();
    quantize(spec, values.data(), values.data(), values.size(), shape);
    if (args.text)
      write_all(args.out, encode_text_floats(values));
    else
      write_raw_floats(args.out, values);
  });
}

}  // namespace swalp::cli
