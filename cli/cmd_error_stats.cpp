// `swalp error-stats`: quantize a real array to many formats and report what each costs
// (RMSE, worst error, bias, SQNR). The format core on a real job; ./demo.sh runs it.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "commands.h"
#include "data/idx_reader.h"
#include "io/atomic_file.h"
#include "swalp/decimal.h"
#include "swalp/error.h"
#include "swalp/quantize.h"

namespace swalp::cli {

namespace {

struct ErrorStatsArgs {
  std::string data = "fashion-mnist", rounding = "nearest", out;
  std::string formats =
      "fp32,bf16,fp16,fp8e5m2,fp8e4m3,fp8e4m3fnuz,fp8e5m2fnuz,fp6e3m2,fp6e2m3,fp4e2m1,posit8,"
      "posit16,fixed:8:7,fixed:4:3,bfp:8,bfp:8:row,bfp:4:block32,mx:fp8e4m3,"
      "mx:fp8e4m3:scale=even,mx:fp6e2m3,mx:fp4e2m1,mx:fp4e2m1:scale=ceil,mx:int8,nvfp4,int:8,"
      "int:4:row,dt8,dt8:block64";
  size_t limit = 10000;
  uint64_t seed = 0;
};

struct Dataset {
  std::string name;
  std::vector<float> values;
  std::vector<int64_t> shape;  // [items, features]
};

Dataset load_dataset(const ErrorStatsArgs& args) {
  Dataset d;
  if (args.data.rfind("gaussian:", 0) == 0) {
    // A weight-like tensor: N(0, 0.05^2), rows of 256.
    const size_t n = parse_decimal_uint(args.data.substr(9)).value_or(0);
    if (n == 0 || n % 256 != 0)
      throw InvalidInput("bad --data '" + args.data +
                         "': gaussian:N needs N a positive multiple of 256");
    std::mt19937_64 gen(args.seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    d.values = allocate_values<float>(n, "gaussian:N values");
    for (auto& v : d.values) v = normal(gen);
    d.shape = {int64_t(n / 256), 256};
    d.name = "gaussian weights N(0, 0.05^2), " + std::to_string(n) + " values";
    return d;
  }
  const std::string path = args.data == "fashion-mnist"
                               ? data::default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz"
                               : args.data;
  const data::IdxArray idx = data::read_idx(path);
  size_t features = 1;
  for (size_t i = 1; i < idx.dims.size(); ++i) features *= size_t(idx.dims[i]);
  const size_t items = std::min(size_t(idx.dims[0]), args.limit);
  if (items == 0 || features == 0)
    throw InvalidInput("data file '" + path + "' holds no values (dimensions " +
                       std::to_string(idx.dims[0]) + " x " + std::to_string(features) + ")");
  d.values.resize(items * features);
  for (size_t i = 0; i < d.values.size(); ++i) d.values[i] = idx.values[i] / 255.0f;
  d.shape = {int64_t(items), int64_t(features)};
  d.name =
      path + " (" + std::to_string(items) + " x " + std::to_string(features) + ", pixels / 255)";
  return d;
}

struct ErrorStats {
  // magnitude_bias: mean of |q| - |x|, which stays visible where the signed bias of
  // symmetric data cancels (rounding toward zero, stochastic:R).
  double rmse = 0, max_abs = 0, bias = 0, magnitude_bias = 0, sqnr_db = 0, seconds = 0;
};

ErrorStats measure(const QuantSpec& spec, const Dataset& d) {
  std::vector<float> q = allocate_values<float>(d.values.size(), "the quantized copy");
  const auto start = std::chrono::steady_clock::now();
  quantize(spec, d.values.data(), q.data(), q.size(), d.shape);
  ErrorStats s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double signal = 0, noise = 0, sum = 0, magnitude_sum = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    const double e = double(q[i]) - d.values[i];
    signal += double(d.values[i]) * d.values[i];
    noise += e * e;
    sum += e;
    magnitude_sum += std::fabs(double(q[i])) - std::fabs(double(d.values[i]));
    s.max_abs = std::max(s.max_abs, std::fabs(e));
  }
  s.rmse = std::sqrt(noise / q.size());
  s.bias = sum / q.size();
  s.magnitude_bias = magnitude_sum / q.size();
  s.sqnr_db = noise > 0 ? 10 * std::log10(signal / noise) : INFINITY;
  return s;
}

}  // namespace

void register_error_stats(CLI::App& app) {
  static ErrorStatsArgs args;
  auto* cmd =
      app.add_subcommand("error-stats", "Quantization error of a real array for many formats");
  cmd->add_option("--data", args.data, "fashion-mnist | gaussian:N | an IDX file (.gz or not)")
      ->capture_default_str();
  cmd->add_option("--formats", args.formats, "Comma-separated format spellings")
      ->capture_default_str();
  cmd->add_option("--rounding", args.rounding, "Rounding mode")->capture_default_str();
  cmd->add_option("--seed", args.seed, "Seed (stochastic rounding, synthetic data)")
      ->capture_default_str();
  cmd->add_option("--limit", args.limit, "At most this many items of an IDX file")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", args.out, "Directory for summary.json and error_stats.csv");
  cmd->callback([] {
    std::vector<QuantSpec> specs;
    std::stringstream list(args.formats);
    for (std::string f; std::getline(list, f, ',');)
      specs.push_back(make_quant_spec(f, args.rounding, args.seed));
    if (specs.empty()) throw InvalidInput("--formats is empty; give at least one format spelling");
    const Dataset d = load_dataset(args);
    std::printf("data: %s\nrounding: %s\n\n", d.name.c_str(), args.rounding.c_str());
    std::printf("%-20s %4s %12s %12s %12s %12s %9s %9s\n", "format", "bits", "rmse", "max |err|",
                "bias", "|q|-|x|", "SQNR dB", "ms");
    std::string csv = "format,bits,rmse,max_abs_error,bias,magnitude_bias,sqnr_db,seconds\n";
    nlohmann::json results = nlohmann::json::array();
    for (const QuantSpec& spec : specs) {
      const ErrorStats s = measure(spec, d);
      std::printf("%-20s %4d %12.4e %12.4e %12.3e %12.3e %9.2f %9.2f\n",
                  spec.format.spelling.c_str(), spec.format.bits, s.rmse, s.max_abs, s.bias,
                  s.magnitude_bias, s.sqnr_db, 1e3 * s.seconds);
      char row[256];
      std::snprintf(row, sizeof row, "%s,%d,%.6e,%.6e,%.6e,%.6e,%.4f,%.6f\n",
                    spec.format.spelling.c_str(), spec.format.bits, s.rmse, s.max_abs, s.bias,
                    s.magnitude_bias, s.sqnr_db, s.seconds);
      csv += row;
      results.push_back({{"format", spec.format.spelling},
                         {"bits", spec.format.bits},
                         {"rmse", s.rmse},
                         {"max_abs_error", s.max_abs},
                         {"bias", s.bias},
                         {"magnitude_bias", s.magnitude_bias},
                         {"sqnr_db", std::isfinite(s.sqnr_db) ? nlohmann::json(s.sqnr_db)
                                                              : nlohmann::json(nullptr)}});
    }
    if (!args.out.empty()) {
      io::write_file_atomic(args.out + "/error_stats.csv", csv);
      const nlohmann::json summary = {
          {"data", d.name}, {"rounding", args.rounding}, {"results", results}};
      io::write_file_atomic(args.out + "/summary.json", summary.dump(2) + "\n");
    }
  });
}

}  // namespace swalp::cli
