// `swalp quantize`: float32 in, the same count quantized out (DESIGN.md section 5).
#include "commands.h"
#include "input_output.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp::cli {

namespace {
struct QuantizeArgs {
  std::string format, rounding = "nearest", shape, in, out;
  uint64_t seed = 0, stream = 0;
  bool text = false;
};
}  // namespace

void register_quantize(CLI::App& app) {
  static QuantizeArgs args;
  auto* cmd = app.add_subcommand("quantize", "Quantize float32 values to a simulated format");
  cmd->add_option("--format", args.format, "Format spelling (see swalp formats)")->required();
  cmd->add_option("--rounding", args.rounding, "nearest | stochastic | zero | up | down")->capture_default_str();
  cmd->add_option("--seed", args.seed, "Seed of the stochastic-rounding stream")->capture_default_str();
  cmd->add_option("--stream", args.stream, "Philox stream id (independent streams per seed)")->capture_default_str();
  cmd->add_option("--shape", args.shape, "Dimensions D0,D1,... (their product must equal the count)");
  cmd->add_option("--in", args.in, "Input file (default: stdin)");
  cmd->add_option("--out", args.out, "Output file, written atomically (default: stdout)");
  cmd->add_flag("--text", args.text, "One decimal number per line instead of raw little-endian float32");
  cmd->callback([] {
    // Validate the spellings before reading what may be a large input.
    const QuantSpec spec = make_quant_spec(args.format, args.rounding, args.seed, args.stream);
    const std::vector<int64_t> shape = args.shape.empty() ? std::vector<int64_t>{} : parse_shape(args.shape);
    const std::string bytes = read_all(args.in);
    std::vector<float> values = args.text ? decode_text_floats(bytes) : decode_raw_floats(bytes);
    if (values.empty())
      throw InvalidInput("input is empty: expected float32 values (" +
                         std::string(args.text ? "one number per line" : "raw little-endian") + ")");
    quantize(spec, values.data(), values.data(), values.size(), shape);
    write_all(args.out, args.text ? encode_text_floats(values) : encode_raw_floats(values));
  });
}

}  // namespace swalp::cli
