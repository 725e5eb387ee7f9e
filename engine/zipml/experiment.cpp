#include "zipml/experiment.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>

#include "data/idx_reader.h"
#include "swalp/error.h"
#include "swalp/rng.h"
#include "zipml/libsvm_reader.h"

namespace swalp::zipml {

Dataset synthetic_regression(int64_t n, int64_t d, double noise, uint64_t seed) {
  if (n < 1 || d < 1) throw InvalidInput("synthetic data needs n >= 1 and d >= 1");
  uint64_t index = 0;
  auto gauss = [&] {
    index += 2;
    return philox_normal(seed, 21, index - 2);
  };
  Dataset data;
  data.n = n;
  data.d = d;
  std::vector<double> w_true(d);
  double length = 0;
  for (double& w : w_true) w = gauss(), length += w * w;
  for (double& w : w_true) w /= std::sqrt(length);
  data.x.resize(n * d);
  data.y.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    double m = 0;
    for (int64_t j = 0; j < d; ++j) {
      data.x[i * d + j] = float(gauss());
      m += data.x[i * d + j] * w_true[j];
    }
    data.y[i] = float(m + noise * gauss());
  }
  return data;
}

Dataset fashion_mnist_binary(int negative, int positive, int64_t limit) {
  if (negative < 0 || negative > 9 || positive < 0 || positive > 9 || negative == positive)
    throw InvalidInput("Fashion-MNIST classes must be two different labels in 0..9");
  const std::string dir = data::default_fashion_mnist_dir();
  const data::IdxArray images = data::read_idx(dir + "/train-images-idx3-ubyte.gz");
  const data::IdxArray labels = data::read_idx(dir + "/train-labels-idx1-ubyte.gz");
  Dataset data;
  data.d = 28 * 28;
  for (int64_t i = 0; i < labels.dims[0] && (limit <= 0 || data.n < limit); ++i) {
    const int label = labels.values[i];
    if (label != negative && label != positive) continue;
    for (int64_t j = 0; j < data.d; ++j)
      data.x.push_back(float(images.values[i * data.d + j]) / 255.0f);
    data.y.push_back(label == positive ? 1.0f : -1.0f);
    ++data.n;
  }
  return data;
}

ZipmlResult run_zipml(const ZipmlOptions& o,
                      const std::function<void(const std::string&, double)>& on_progress) {
  const auto start = std::chrono::steady_clock::now();
  for (int b : o.bits)
    if (b < 1 || b > 8) throw InvalidInput("bits " + std::to_string(b) + " out of range 1..8");
  Dataset data;
  ZipmlResult result;
  if (o.data == "synthetic") {
    data = synthetic_regression(o.n, o.d, o.noise, o.sgd.seed);
    result.description = "synthetic regression";
    if (o.sgd.loss != Loss::kLeastSquares) {
      // The classification losses get labels sign(a.w_true + noise): separable when noise = 0.
      for (float& y : data.y) y = y > 0 ? 1.0f : -1.0f;
      result.description = "synthetic classification";
    }
    result.description += ", n=" + std::to_string(o.n) + ", d=" + std::to_string(o.d);
  } else if (o.data == "fashion-mnist") {
    data = fashion_mnist_binary(o.class_negative, o.class_positive, o.limit);
    result.description = "Fashion-MNIST " + std::to_string(o.class_negative) + " vs " +
                         std::to_string(o.class_positive) + ", n=" + std::to_string(data.n) +
                         ", d=784";
  } else if (o.data.rfind("libsvm:", 0) == 0 && o.data.size() > 7) {
    data = read_libsvm(o.data.substr(7), o.sgd.loss != Loss::kLeastSquares);
    result.description = "LIBSVM " + o.data.substr(7) + ", n=" + std::to_string(data.n) +
                         ", d=" + std::to_string(data.d);
  } else {
    throw InvalidInput("bad data '" + o.data +
                       "'; accepted: synthetic, fashion-mnist, libsvm:FILE");
  }

  result.n = data.n;
  result.d = data.d;
  const std::vector<std::pair<std::string, Method>> methods = {
      {"naive", Method::kNaive},
      {"double", Method::kDoubleSampling},
      {"end-to-end", Method::kEndToEnd},
      {"double-optimal", Method::kDoubleSampling}};
  const double total = 1.0 + double(o.bits.size() * methods.size());
  SgdOptions full = o.sgd;
  full.method = Method::kFull;
  if (on_progress) on_progress("fp32", 0.0);
  result.full = train_linear(data, full);
  int done = 1;
  for (int b : o.bits)
    for (const auto& [name, method] : methods) {
      if (on_progress) on_progress(name + " " + std::to_string(b) + " bits", done / total);
      SgdOptions run = o.sgd;
      run.method = method;
      run.sample_bits = b;
      run.optimal_levels = name == "double-optimal";
      // A run that diverges (coarse samples have large norms) is recorded, not fatal.
      ZipmlRun record{name, b, {}};
      try {
        record.result = train_linear(data, run);
      } catch (const RuntimeFailure&) {
        record.result.final_loss = std::numeric_limits<double>::quiet_NaN();
        record.diverged = true;
      }
      if (!record.diverged) {
        double bytes = 0;
        for (const EpochLog& e : record.result.epochs) bytes += double(e.bytes_read);
        record.bits_read_per_value =
            8 * bytes / double(record.result.epochs.size()) / (double(data.n) * double(data.d));
      }
      result.runs.push_back(record);
      ++done;
    }

  // Fewest bits reaching the fp32 loss.
  const double target = result.full.final_loss * (1 + o.tolerance);
  for (const ZipmlRun& r : result.runs) {
    int* best = r.method == "double"           ? &result.bits_uniform
                : r.method == "double-optimal" ? &result.bits_optimal
                                               : nullptr;
    if (best && r.result.final_loss <= target && (*best == 0 || r.bits < *best)) *best = r.bits;
  }

  // Uniform bits equivalent to each optimal run: interpolate log(gap) against bits.
  std::vector<std::pair<int, double>> uniform_gaps;  // (bits, log gap), by bits
  for (const ZipmlRun& r : result.runs)
    if (r.method == "double" && !r.diverged && r.result.final_loss > result.full.final_loss)
      uniform_gaps.emplace_back(r.bits, std::log(r.result.final_loss / result.full.final_loss - 1));
  for (const ZipmlRun& r : result.runs) {
    if (r.method != "double-optimal" || r.diverged) continue;
    const double gap = r.result.final_loss / result.full.final_loss - 1;
    if (!(gap > 0)) continue;
    const double target = std::log(gap);
    for (size_t k = 0; k + 1 < uniform_gaps.size(); ++k) {
      const auto [b0, g0] = uniform_gaps[k];
      const auto [b1, g1] = uniform_gaps[k + 1];
      if (g0 >= target && target >= g1 && g0 > g1) {
        const double bits = b0 + (b1 - b0) * (g0 - target) / (g0 - g1);
        result.equivalent_bits.push_back({r.bits, bits, bits / r.bits});
        break;
      }
    }
  }

  // Bias of the least-squares gradient at the fp32 solution, against the spread of the
  // per-example gradients there.
  if (o.sgd.loss == Loss::kLeastSquares || o.sgd.loss == Loss::kLsSvm) {
    const std::vector<float>& w = result.full.w;
    std::vector<double> exact(data.d, 0.0);
    double spread = 0;
    for (int64_t i = 0; i < data.n; ++i) {
      double r = -data.y[i];
      for (int64_t j = 0; j < data.d; ++j) r += double(data.x[i * data.d + j]) * w[j];
      for (int64_t j = 0; j < data.d; ++j) {
        const double g = r * data.x[i * data.d + j];
        exact[j] += g / double(data.n);
        spread += g * g / double(data.n);
      }
    }
    result.bias_scale = std::sqrt(spread);
    for (int b : o.bits) {
      BiasRow row;
      row.bits = b;
      for (Method m : {Method::kNaive, Method::kDoubleSampling}) {
        const std::vector<double> mean =
            mean_quantized_gradient(data, w, m, b, false, o.bias_draws, o.sgd.seed + 99);
        double distance = 0;
        for (int64_t j = 0; j < data.d; ++j)
          distance += (mean[j] - exact[j]) * (mean[j] - exact[j]);
        (m == Method::kNaive ? row.naive : row.double_sampling) = std::sqrt(distance);
      }
      result.bias.push_back(row);
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace swalp::zipml
