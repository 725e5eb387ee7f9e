// `swalp codecs`: error statistics of the 8-bit message codecs (mean absolute and relative
// error, SQNR, bits per value on the wire) on normal, uniform, Laplace and real gradient data.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "io/atomic_file.h"
#include "swalp/codec.h"
#include "swalp/error.h"
#include "swalp/text.h"
#ifdef SWALP_HAVE_TORCH
#include <ATen/ATen.h>

#include "train/trainer.h"
#endif

namespace swalp::cli {

namespace {

struct CodecsArgs {
#ifdef SWALP_HAVE_TORCH
  std::vector<std::string> data = {"normal", "uniform", "laplace", "gradients"};
#else
  std::vector<std::string> data = {"normal", "uniform", "laplace"};
#endif
  std::vector<std::string> codecs = {"dt8", "st8", "int8", "fp8e4m3", "fp8e5m2"};
  size_t n = 1 << 20, block = 0;
  std::string out;
};

// The gradients of an MLP on Fashion-MNIST after 100 steps (every parameter, concatenated).
std::vector<float> real_gradients() {
#ifdef SWALP_HAVE_TORCH
  const engine::DataSplits data = engine::load_data("fashion-mnist", 12800, 100);
  engine::TrainOptions o;
  o.model = "mlp";
  engine::TrainingState state(o);
  for (int step = 0; step <= 100; ++step) {
    const int64_t b = (step % 100) * 128;
    state.step(data.train.images.slice(0, b, b + 128), data.train.labels.slice(0, b, b + 128),
               0.05);
  }
  std::vector<float> out;
  for (const at::Tensor& p : state.parameters()) {
    const at::Tensor g = p.grad().contiguous();
    out.insert(out.end(), g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
  }
  return out;
#else
  throw InvalidInput(
      "gradient data needs libtorch (this build has none); accepted here: normal, "
      "uniform, laplace");
#endif
}

const char* const kDataKinds[] = {"normal", "uniform", "laplace", "gradients"};

// A --data name in any case, or InvalidInput listing the accepted ones.
std::string data_kind(const std::string& name) {
  const std::string lower = ascii_lower(name);
  for (const char* kind : kDataKinds)
    if (lower == kind) return lower;
  throw InvalidInput("bad data '" + name + "'; accepted: normal, uniform, laplace, gradients");
}

std::vector<float> make_data(const std::string& kind, size_t n) {
  std::mt19937 rng(1);
  std::vector<float> v = allocate_values<float>(n, "--n values of " + kind + " data");
  if (kind == "normal") {
    std::normal_distribution<float> d(0, 1);
    for (float& x : v) x = d(rng);
  } else if (kind == "uniform") {
    std::uniform_real_distribution<float> d(-1, 1);
    for (float& x : v) x = d(rng);
  } else if (kind == "laplace") {
    std::exponential_distribution<float> d(1);
    std::bernoulli_distribution sign(0.5);
    for (float& x : v) x = sign(rng) ? d(rng) : -d(rng);
  } else {
    v = real_gradients();
  }
  return v;
}

}  // namespace

void register_codecs(CLI::App& app) {
  static CodecsArgs a;
  auto* cmd = app.add_subcommand("codecs", "Error statistics of the message codecs (8-bit, sign1)");
  cmd->add_option("--data", a.data, "normal | uniform | laplace | gradients, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--codecs", a.codecs,
                  "dt8 | st8 | int8 | fp8e4m3 | fp8e5m2 | sign1, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--n", a.n, "Values of the synthetic data")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 30));
  cmd->add_option("--block", a.block, "Values per scale (0: one scale per message)")
      ->capture_default_str();
  cmd->add_option("--out", a.out, "Directory for summary.json");
  cmd->callback([] {
    // Every name checked before the table starts.
    for (const std::string& c : a.codecs) codec_by_name(c);
    for (std::string& kind : a.data) kind = data_kind(kind);
    nlohmann::json rows = nlohmann::json::array();
    std::printf("%-10s %-8s %-10s %12s %12s %9s %10s\n", "data", "codec", "rounding", "mean abs",
                "mean rel", "SQNR dB", "bits/value");
    for (const std::string& kind : a.data) {
      const std::vector<float> values = make_data(kind, a.n);
      for (const std::string& name : a.codecs)
        for (bool stochastic : {false, true}) {
          // sign1 has no stochastic form: its one row is the deterministic sign.
          if (stochastic && codec_by_name(name).kind == CodecKind::kSign1) continue;
          EncodeOptions o;
          o.block = a.block;
          o.stochastic = stochastic;
          o.seed = 3;
          const CodecErrorStats s = codec_error_stats(codec_by_name(name), values, o);
          EncodedMessage m;
          encode(codec_by_name(name), values.data(), values.size(), o, m);
          const double bits = 8.0 * double(m.wire_bytes()) / double(values.size());
          const char* rounding = codec_by_name(name).kind == CodecKind::kSign1 ? "sign"
                                 : stochastic                                  ? "stochastic"
                                                                               : "nearest";
          std::printf("%-10s %-8s %-10s %12.4e %12.4e %9.2f %10.3f\n", kind.c_str(),
                      codec_by_name(name).name.c_str(), rounding, s.mean_absolute_error,
                      s.mean_relative_error, s.sqnr_db, bits);
          rows.push_back({{"data", kind},
                          {"codec", name},
                          {"rounding", rounding},
                          {"n", values.size()},
                          {"mean_absolute_error", s.mean_absolute_error},
                          {"mean_relative_error", s.mean_relative_error},
                          {"sqnr_db", s.sqnr_db},
                          {"bits_per_value", bits}});
        }
    }
    if (!a.out.empty())
      io::write_file_atomic(a.out + "/summary.json",
                            nlohmann::json{{"block", a.block}, {"rows", rows}}.dump(2) + "\n");
  });
}

}  // namespace swalp::cli
