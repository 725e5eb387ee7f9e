// ZipML: packed samples (every width, both layouts), unbiasedness of double sampling against
// the bias of naive sampling, the optimal-levels program against brute force, training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "swalp/error.h"
#include "zipml/experiment.h"
#include "zipml/interval_samples.h"
#include "zipml/libsvm_reader.h"
#include "zipml/optimal_levels.h"

namespace swalp::zipml {
namespace {

// Labels sign(a.w_true + noise) of the synthetic regression data (separable when noise = 0).
Dataset classification_data(int64_t n, int64_t d, double noise, uint64_t seed) {
  Dataset data = synthetic_regression(n, d, noise, seed);
  for (float& y : data.y) y = y > 0 ? 1.0f : -1.0f;
  return data;
}

TEST(PackedSamples, EveryWidthDecodesToANeighbouringLevel) {
  const Dataset data = synthetic_regression(64, 37, 0.1, 5);  // 37: planes do not divide d
  for (int bits = 1; bits <= 8; ++bits)
    for (bool optimal : {false, true}) {
      const std::vector<double> levels = sample_levels(data, bits, optimal);
      ASSERT_LE(levels.size(), size_t(1) << bits);
      const PackedSamples packed(data, bits, levels, 3, 0);
      EXPECT_EQ(packed.bytes(),
                64 * (8 % bits == 0 ? (37 + 8 / bits - 1) / (8 / bits) : (37 * bits + 7) / 8));
      std::vector<float> row(37);
      for (int64_t i = 0; i < data.n; ++i) {
        packed.decode_row(i, row.data());
        for (int64_t j = 0; j < data.d; ++j) {
          EXPECT_EQ(row[j], packed.value(i, j)) << bits << " " << i << " " << j;
          // Within one level gap of the sample (the widest gap bounds it).
          EXPECT_LE(std::abs(row[j] - data.row(i)[j]), packed.max_error(j) * 1.0001f + 1e-6f);
        }
      }
    }
}

TEST(PackedSamples, StochasticRoundingIsUnbiased) {
  const Dataset data = synthetic_regression(4, 8, 0.1, 6);
  const std::vector<double> levels = uniform_levels(4);  // 2 bits
  std::vector<double> mean(32, 0.0);
  const int copies = 4000;
  for (int c = 0; c < copies; ++c) {
    const PackedSamples packed(data, 2, levels, 9, uint64_t(c));
    for (int64_t k = 0; k < 32; ++k) mean[k] += packed.value(k / 8, k % 8) / double(copies);
  }
  for (int64_t k = 0; k < 32; ++k) {
    const PackedSamples one(data, 2, levels, 9, 0);
    // Per-draw std <= gap / 2; five standard errors of the mean.
    const double bound = 5 * one.max_error(k % 8) / 2 / std::sqrt(double(copies));
    EXPECT_NEAR(mean[k], data.x[k], bound) << k;
  }
}

TEST(DoubleSampling, UnbiasedWhereNaiveSamplingIsBiased) {
  const Dataset data = synthetic_regression(200, 5, 0.1, 7);
  const std::vector<float> w = {0.5f, -0.3f, 0.2f, 0.1f, -0.4f};
  std::vector<double> exact(5, 0.0);
  for (int64_t i = 0; i < data.n; ++i) {
    double r = -data.y[i];
    for (int j = 0; j < 5; ++j) r += double(data.row(i)[j]) * w[j];
    for (int j = 0; j < 5; ++j) exact[j] += r * data.row(i)[j] / double(data.n);
  }
  auto distance = [&](Method m) {
    const std::vector<double> g = mean_quantized_gradient(data, w, m, 2, false, 300, 11);
    double s = 0;
    for (int j = 0; j < 5; ++j) s += (g[j] - exact[j]) * (g[j] - exact[j]);
    return std::sqrt(s);
  };
  const double naive = distance(Method::kNaive), twice = distance(Method::kDoubleSampling);
  // E[Q(a)Q(a)^T] = aa^T + D: naive's bias is D w, about 0.1 here; double sampling's distance is
  // Monte-Carlo noise (300 draws x 200 examples), measured 0.003.
  EXPECT_GT(naive, 0.05);
  EXPECT_LT(twice, naive / 10);
}

TEST(OptimalLevels, DynamicProgramMatchesBruteForce) {
  std::mt19937 rng(3);
  std::exponential_distribution<double> skewed(3.0);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> values(12);
    for (double& v : values) v = skewed(rng);
    std::vector<double> distinct = values;
    std::sort(distinct.begin(), distinct.end());
    for (int s = 2; s <= 5; ++s) {
      const std::vector<double> levels = optimal_levels_exact(values, s);
      ASSERT_EQ(levels.size(), size_t(s));
      EXPECT_EQ(levels.front(), distinct.front());
      EXPECT_EQ(levels.back(), distinct.back());
      // Brute force over every choice of s - 2 inner levels among the inner values.
      double best = 1e300;
      const int inner = int(distinct.size()) - 2;
      for (uint32_t mask = 0; mask < (1u << inner); ++mask) {
        if (__builtin_popcount(mask) != s - 2) continue;
        std::vector<double> choice = {distinct.front()};
        for (int k = 0; k < inner; ++k)
          if (mask & (1u << k)) choice.push_back(distinct[k + 1]);
        choice.push_back(distinct.back());
        best = std::min(best, rounding_variance(values, choice));
      }
      EXPECT_NEAR(rounding_variance(values, levels), best, 1e-12) << trial << " " << s;
    }
  }
}

TEST(OptimalLevels, HistogramProgramIsCloseToExactAndBeatsUniform) {
  std::mt19937 rng(4);
  std::normal_distribution<double> normal(0.5, 0.12);
  std::vector<double> values(5000);
  for (double& v : values) v = std::clamp(normal(rng), 0.0, 1.0);
  values.push_back(0.0);
  values.push_back(1.0);
  for (int s : {4, 8}) {
    const double exact = rounding_variance(values, optimal_levels_exact(values, s));
    const double histogram = rounding_variance(values, optimal_levels_histogram(values, s, 512));
    const double uniform = rounding_variance(values, uniform_levels(s));
    EXPECT_LE(histogram, exact * 1.02) << s;
    EXPECT_LT(exact, uniform * 0.8) << s;  // concentrated data: optimal levels help
  }
}

TEST(LinearSgd, EightBitDoubleSamplingReachesFullPrecisionAndNaiveFourBitDoesNot) {
  const Dataset data = synthetic_regression(2000, 20, 0.1, 8);
  SgdOptions o;
  o.epochs = 8;
  o.lr = 0.005;
  o.lr_decay = 0.7;
  const double full = train_linear(data, o).final_loss;
  o.method = Method::kDoubleSampling;
  o.sample_bits = 8;
  EXPECT_LT(train_linear(data, o).final_loss, full * 1.01);
  o.sample_bits = 4;
  const double twice = train_linear(data, o).final_loss;
  o.method = Method::kNaive;
  const double naive = train_linear(data, o).final_loss;
  EXPECT_LT(twice, full * 1.03);
  EXPECT_GT(naive, full * 1.08);  // measured +19% on this problem
  o.method = Method::kEndToEnd;
  EXPECT_LT(train_linear(data, o).final_loss, full * 1.03);
}

TEST(LinearSgd, LogisticWithChebyshevCopiesAndHingeWithRefetching) {
  const std::vector<double> c = chebyshev_sigmoid(3, 4.0);
  for (double t = -4; t <= 4; t += 0.25) {
    double p = 0;
    for (int k = 3; k >= 0; --k) p = p * t + c[k];
    EXPECT_NEAR(p, 1 / (1 + std::exp(t)), 0.04) << t;  // degree 3: measured max 0.0351
  }
  const Dataset data = classification_data(2000, 10, 0.5, 9);
  SgdOptions o;
  o.l2 = 0.05;  // keeps the margins inside the polynomial's range [-6, 6]
  o.chebyshev_range = 6;
  o.epochs = 5;
  o.lr = 0.01;
  o.lr_decay = 0.8;
  const std::vector<float> zero(10, 0.0f);
  for (Loss loss : {Loss::kLogistic, Loss::kHinge}) {
    o.loss = loss;
    o.method = Method::kFull;
    const double full = train_linear(data, o).final_loss;
    o.method = Method::kDoubleSampling;
    o.sample_bits = 4;
    const SgdResult r = train_linear(data, o);
    EXPECT_LT(r.final_loss, objective(data, loss, o.l2, zero) * 0.7);
    EXPECT_LT(r.final_loss, full * 1.1);
    if (loss == Loss::kHinge) {
      // The worst-case rounding bound is loose: at 4 bits most steps refetch (measured 0.89),
      // at 8 bits few do.
      EXPECT_GT(r.refetch_fraction, 0.0);
      o.sample_bits = 8;
      const SgdResult fine = train_linear(data, o);
      EXPECT_LT(fine.refetch_fraction, r.refetch_fraction);
      EXPECT_LT(fine.refetch_fraction, 0.5);
    }
  }
}

TEST(IntervalSamples, HoldTheValuesOfIndependentCopiesInBitsPlusCopiesBits) {
  const Dataset data = synthetic_regression(40, 37, 0.1, 6);  // rows not on byte boundaries
  std::vector<float> expected(37), got(37);
  for (int bits = 1; bits <= 8; ++bits)
    for (bool optimal : {false, true}) {
      const std::vector<double> levels = sample_levels(data, bits, optimal);
      const int copies = 3;
      const IntervalSamples compact(data, bits, levels, 11, 5, copies);
      for (int c = 0; c < copies; ++c) {
        const PackedSamples independent(data, bits, levels, 11, 5 + uint64_t(c));
        for (int64_t i = 0; i < data.n; ++i) {
          independent.decode_row(i, expected.data());
          compact.decode_row(i, c, got.data());
          for (int64_t j = 0; j < data.d; ++j)
            ASSERT_EQ(got[j], expected[j]) << bits << " bits, copy " << c << ", " << i << "," << j;
        }
      }
      const int64_t values = data.n * data.d;
      EXPECT_LE(compact.bytes() * 8, values * (bits + copies) + 8 * (copies + data.n)) << bits;
    }
}

TEST(LinearSgd, CompactAndIndependentStorageTrainIdentically) {
  const Dataset data = synthetic_regression(500, 50, 0.1, 4);
  SgdOptions o;
  o.method = Method::kDoubleSampling;
  o.sample_bits = 4;
  o.epochs = 2;
  o.lr = 0.002;
  const SgdResult compact = train_linear(data, o);
  o.storage = Storage::kIndependent;
  const SgdResult independent = train_linear(data, o);
  EXPECT_EQ(compact.w, independent.w);
  // 4 bits and two one-bit choices per value: 6 bits read per value and epoch, not 8.
  EXPECT_EQ(compact.epochs.back().bytes_read * 8, data.n * data.d * 6);
  EXPECT_EQ(independent.epochs.back().bytes_read * 8, data.n * data.d * 8);
}

TEST(LinearSgd, LogisticOnSeparableDataStaysInsideTheChebyshevRange) {
  // Separable labels and no regularization: the weights grow until most margins leave [-4, 4],
  // where the polynomial is meaningless (it overflowed before margins were checked).
  const Dataset data = classification_data(2000, 20, 0.0, 12);
  SgdOptions o;
  o.loss = Loss::kLogistic;
  o.epochs = 6;
  o.lr = 0.01;
  o.lr_decay = 0.7;
  const double full = train_linear(data, o).final_loss;
  o.method = Method::kDoubleSampling;
  o.sample_bits = 8;
  const SgdResult r = train_linear(data, o);
  EXPECT_LT(r.final_loss, full * 1.02);
  EXPECT_GT(r.refetch_fraction, 0.05);
  EXPECT_LT(r.refetch_fraction, 0.95);
  // A margin refetched is read in fp32: the bytes count it.
  EXPECT_GT(r.epochs.back().bytes_read, r.sample_bytes);
}

TEST(LinearSgd, HoeffdingBoundRefetchesLessThanTheWorstCase) {
  const Dataset data = classification_data(2000, 50, 0.1, 13);
  SgdOptions o;
  o.loss = Loss::kHinge;
  o.method = Method::kDoubleSampling;
  o.sample_bits = 4;
  o.epochs = 4;
  o.lr = 0.002;
  o.lr_decay = 0.7;
  const SgdResult worst = train_linear(data, o);
  o.refetch_bound = RefetchBound::kHoeffding;
  const SgdResult hoeffding = train_linear(data, o);
  EXPECT_LT(hoeffding.refetch_fraction, worst.refetch_fraction * 0.9);
  o.method = Method::kFull;
  const double full = train_linear(data, o).final_loss;
  EXPECT_LT(hoeffding.final_loss, full * 1.02);
}

// Writes `text` to a fresh file and returns its path.
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("swalp_test_" + std::to_string(getpid()) + name))
          .string();
  std::ofstream(path) << text;
  return path;
}

TEST(Libsvm, SparseAndDenseFilesReadAlike) {
  const std::string sparse = write_temp("sparse.txt",
                                        "# a comment\n"
                                        "1 1:0.5 3:-2\n"
                                        "\n"
                                        "0 2:1e-1   # trailing comment\n"
                                        "1 3:4\n");
  const std::string dense = write_temp("dense.txt", "1 0.5 0 -2\n0 0 0.1 0\n1 0 0 4\n");
  for (const std::string& path : {sparse, dense}) {
    const Dataset data = read_libsvm(path, true);
    ASSERT_EQ(data.n, 3);
    ASSERT_EQ(data.d, 3);
    EXPECT_EQ(data.x, (std::vector<float>{0.5f, 0, -2, 0, 0.1f, 0, 0, 0, 4})) << path;
    EXPECT_EQ(data.y, (std::vector<float>{1, -1, 1})) << path;  // 0/1 labels read as -1/+1
    EXPECT_EQ(read_libsvm(path, false).y, (std::vector<float>{1, 0, 1}));  // targets kept
    std::remove(path.c_str());
  }
}

TEST(Libsvm, MalformedLinesNameTheLineAndTheToken) {
  const std::pair<const char*, const char*> cases[] = {
      {"1 1:2\nx 1:2\n", "line 2: bad label 'x'"},
      {"1 0:2\n", "line 1: bad feature '0:2'"},
      {"1 2:1 1:1\n", "line 1: feature index 1 is not above the previous one"},
      {"1 1:abc\n", "line 1: bad value in '1:abc'"},
      {"1 1:nan\n", "line 1: bad value in '1:nan'"},
      {"1 1:2 3\n", "line 1: '3' mixes dense values and INDEX:VALUE pairs"},
      {"1 99999999:1\n", "exceeds 1048576"},
      {"1 1:1\n2 1:1\n3 1:1\n", "has 3 distinct labels (1.000000, 2.000000, 3.000000)"},
      {"# nothing\n\n", "holds no examples"},
      {"1\n-1\n", "holds no features"},
  };
  for (const auto& [text, message] : cases) {
    const std::string path = write_temp("bad.txt", text);
    try {
      read_libsvm(path, true);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
  }
  EXPECT_THROW(read_libsvm("/nonexistent/swalp.libsvm", false), InvalidInput);
}

TEST(LinearSgd, BadInputIsAClearError) {
  const Dataset data = synthetic_regression(10, 3, 0.1, 1);
  SgdOptions o;
  o.method = Method::kNaive;
  o.sample_bits = 9;
  EXPECT_THROW(train_linear(data, o), InvalidInput);
  EXPECT_THROW(parse_loss("l1"), InvalidInput);
  EXPECT_THROW(parse_method("triple"), InvalidInput);
  EXPECT_THROW(parse_storage("packed"), InvalidInput);
  EXPECT_THROW(parse_refetch_bound("chernoff"), InvalidInput);
  o.refetch_failure = 1;
  EXPECT_THROW(train_linear(data, o), InvalidInput);
  o.refetch_failure = 1e-3;
  o.chebyshev_range = 0;
  EXPECT_THROW(train_linear(data, o), InvalidInput);
  o.chebyshev_range = 4;
  o.sample_bits = 1;
  o.lr = 50;  // diverges
  EXPECT_THROW(train_linear(data, o), RuntimeFailure);
}

}  // namespace
}  // namespace swalp::zipml
