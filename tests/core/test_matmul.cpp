// Rounded-accumulation products: the fast path bit for bit against the oracle in every order,
// rounding mode and accumulator family; the oracle against independent sums; the spec's parser.
#include <omp.h>
#include <sys/resource.h>

#include <random>

#include "swalp/error.h"
#include "swalp/matmul.h"
#include "swalp/quantize.h"
#include "test_util.h"

namespace swalp {
namespace {

struct Shape {
  size_t m, n, k;
};

std::vector<float> random_matrix(size_t count, uint32_t seed, bool specials) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = normal(gen) * std::ldexp(1.0f, int(i % 7) - 3);
  if (specials && count > 8) {
    v[count / 3] = INFINITY;
    v[count / 2] = -INFINITY;
    v[count - 2] = NAN;
    v[1] = 60000.0f;  // products that overflow fp16 and fp8 sums
    v[5] = 1e-30f;    // sums below every small format's normal range
  }
  return v;
}

void expect_fast_matches_reference(const AccumulateSpec& spec, const Shape& s, bool specials) {
  const auto a = random_matrix(s.m * s.k, uint32_t(s.m * 31 + s.k), specials);
  const auto b = random_matrix(s.k * s.n, uint32_t(s.n * 17 + s.k), specials);
  std::vector<float> fast(s.m * s.n), ref(s.m * s.n);
  matmul(spec, a.data(), b.data(), fast.data(), s.m, s.n, s.k);
  matmul_reference(spec, a.data(), b.data(), ref.data(), s.m, s.n, s.k);
  const long bad = test::first_mismatch(fast, ref);
  EXPECT_EQ(bad, -1) << spec.spelling << " M=" << s.m << " N=" << s.n << " K=" << s.k
                     << (bad >= 0 ? " fast " + std::to_string(fast[bad]) + " ref " +
                                        std::to_string(ref[bad])
                                  : "");
}

TEST(Matmul, FastMatchesReferenceInEveryOrderAndRounding) {
  // N = 104: a whole block of 64 columns (AVX-512; 32 on AVX2), then tail tasks of 16-column tiles,
  // the last one part-filled; K = 70 crosses a refill of the random bits (64 steps).
  const std::vector<Shape> shapes = {{1, 1, 1},   {3, 5, 1},   {2, 70, 33},
                                     {5, 17, 64}, {1, 130, 9}, {2, 104, 70}};
  const std::vector<std::string> specs = {"fp16",
                                          "bf16",
                                          "float:5:8",
                                          "fp8e4m3",
                                          "fp32",
                                          "exact",
                                          "fp8e4m3fnuz",
                                          "fp16:order=pairwise",
                                          "bf16:chunk=4",
                                          "float:5:8:chunk=32:outer=fp32",
                                          "fp16:chunk=3:outer=bf16",
                                          "bf16:chunk=7:outer=exact",
                                          "bf16:product=bf16",
                                          "fp16:order=pairwise:product=fp8e5m2",
                                          "fixed:16:8",
                                          "posit16:order=pairwise",
                                          "fixed:12:4:chunk=5:outer=fp16",
                                          "fp32:result=bf16",
                                          "exact:result=fp8e4m3fnuz",
                                          "bf16:chunk=4:result=fp8e5m2",
                                          "fp16:order=pairwise:result=float:4:2",
                                          "fixed:16:8:result=fp16"};
  test::for_each_simd_target([&] {
    for (const std::string& base : specs)
      for (const char* rounding :
           {"nearest", "stochastic", "stochastic:8", "stochastic:13", "zero", "up", "down"})
        for (const Shape& shape : shapes) {
          const AccumulateSpec spec =
              parse_accumulate(base + ":rounding=" + rounding, 7, uint64_t(shape.k));
          expect_fast_matches_reference(spec, shape, false);
          expect_fast_matches_reference(spec, shape, true);
        }
  });
}

// K past the fast path's panel window (kPanelBytes of converted B per thread: 2^17 steps of the
// narrowest 16-column block): the window slides within a row and refills for the next row.
TEST(Matmul, InnerDimensionsPastThePanelWindowMatchReference) {
  const Shape s{2, 20, (size_t(1) << 17) + 2500};
  const auto a = random_matrix(s.m * s.k, 3, false);
  const auto b = random_matrix(s.k * s.n, 4, false);
  for (const char* text : {"fp16", "bf16:chunk=32:outer=fp32:rounding=stochastic",
                           "fp16:order=pairwise:rounding=stochastic"}) {
    const AccumulateSpec spec = parse_accumulate(text);
    std::vector<float> ref(s.m * s.n);
    matmul_reference(spec, a.data(), b.data(), ref.data(), s.m, s.n, s.k);
    test::for_each_simd_target([&] {
      std::vector<float> fast(s.m * s.n);
      matmul(spec, a.data(), b.data(), fast.data(), s.m, s.n, s.k);
      EXPECT_EQ(test::first_mismatch(fast, ref), -1) << text;
    });
  }
}

// The pairwise order streams its leaves through a stack of one partial sum per level: a long
// sum takes O(log K) memory per thread (it took K x 16 doubles, 512 MiB at K = 2^22).
long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;  // KiB on Linux
}

TEST(Matmul, PairwiseLongSumsTakeLittleMemoryAndMatchReference) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow and quarantine change the peak resident size";
#endif
  const size_t k = size_t(1) << 22;
  const auto a = random_matrix(k, 5, false), b = random_matrix(k, 6, false);
  const AccumulateSpec spec = parse_accumulate("bf16:order=pairwise:rounding=stochastic", 9);
  float fast = 0, ref = 0;
  const long before = peak_rss_mib();
  matmul(spec, a.data(), b.data(), &fast, 1, 1, k);
  // The converted panel window of B (16 MiB) and small buffers; not K partial sums.
  EXPECT_LT(peak_rss_mib() - before, 48);
  matmul_reference(spec, a.data(), b.data(), &ref, 1, 1, k);
  EXPECT_EQ(test::first_mismatch(std::vector<float>{fast}, std::vector<float>{ref}), -1)
      << fast << " vs " << ref;
}

// Sums below the smallest normal of fp16 and the small formats (the kernel's subnormal-range
// path): operands scaled by 2^-12, so products are about 2^-24.
TEST(Matmul, SubnormalRangeSumsMatchReference) {
  const size_t m = 3, n = 37, k = 50;
  auto a = random_matrix(m * k, 21, false), b = random_matrix(k * n, 22, false);
  for (auto& v : a) v = std::ldexp(v, -12);
  for (auto& v : b) v = std::ldexp(v, -12);
  test::for_each_simd_target([&] {
    for (const char* acc : {"fp16", "float:5:8", "fp8e5m2", "fp8e4m3fnuz", "fp16:order=pairwise",
                            "fp16:chunk=8:outer=fp16"})
      for (const char* rounding : {"nearest", "stochastic", "stochastic:5", "zero", "up", "down"}) {
        const AccumulateSpec spec =
            parse_accumulate(std::string(acc) + ":rounding=" + rounding, 3, 1);
        std::vector<float> fast(m * n), ref(m * n);
        matmul(spec, a.data(), b.data(), fast.data(), m, n, k);
        matmul_reference(spec, a.data(), b.data(), ref.data(), m, n, k);
        EXPECT_EQ(test::first_mismatch(fast, ref), -1) << spec.spelling;
      }
  });
}

TEST(Matmul, ResultDoesNotDependOnThreadCount) {
  const size_t m = 9, n = 150, k = 200;
  const auto a = random_matrix(m * k, 1, false), b = random_matrix(k * n, 2, false);
  for (const char* spelling :
       {"fp16:rounding=stochastic", "bf16:order=pairwise:rounding=stochastic",
        "fixed:16:10:rounding=stochastic", "fp16:chunk=8:rounding=up"}) {
    const AccumulateSpec spec = parse_accumulate(spelling, 3);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> c(m * n);
      matmul(spec, a.data(), b.data(), c.data(), m, n, k);
      results.push_back(c);
    }
    EXPECT_EQ(test::first_mismatch(results[0], results[1]), -1) << spelling;
    EXPECT_EQ(test::first_mismatch(results[0], results[2]), -1) << spelling;
  }
  omp_set_num_threads(omp_get_num_procs());
}

// Independent sums: K ones in fp16 (11 significant bits). Sequential nearest stagnates at 2048
// (2048 + 1 is a tie, to the even 2048); pairwise and chunked sums are exact; stochastic
// rounding is unbiased, so the mean over columns is near K.
TEST(Matmul, Fp16SumsOfOnesStagnateOnlySequentially) {
  const size_t k = 4096, n = 256;
  const std::vector<float> a(k, 1.0f), b(k * n, 1.0f);
  std::vector<float> c(n);
  const auto run = [&](const char* spelling) {
    matmul(parse_accumulate(spelling, 11), a.data(), b.data(), c.data(), 1, n, k);
    double mean = 0;
    for (float v : c) mean += v / double(n);
    return mean;
  };
  EXPECT_EQ(run("fp16"), 2048.0);
  EXPECT_EQ(run("fp16:order=pairwise"), 4096.0);
  EXPECT_EQ(run("fp16:chunk=32:outer=fp32"), 4096.0);
  EXPECT_EQ(run("fp32"), 4096.0);
  EXPECT_EQ(run("bf16"), 256.0);  // 8 significant bits: 256 + 1 is a tie, to the even 256
  EXPECT_NEAR(run("fp16:rounding=stochastic"), 4096.0, 4096 * 0.01);
}

TEST(Matmul, ExactAndFp32AccumulatorsMatchPlainLoops) {
  const size_t m = 4, n = 6, k = 300;
  const auto a = random_matrix(m * k, 5, false), b = random_matrix(k * n, 6, false);
  std::vector<float> exact(m * n), fp32(m * n);
  matmul(parse_accumulate("exact"), a.data(), b.data(), exact.data(), m, n, k);
  matmul(parse_accumulate("fp32:product=fp32"), a.data(), b.data(), fp32.data(), m, n, k);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      double sum = 0;
      float acc = 0;
      for (size_t t = 0; t < k; ++t) {
        sum += double(a[i * k + t]) * double(b[t * n + j]);
        volatile float product = a[i * k + t] * b[t * n + j];  // no fused multiply-add
        acc = acc + product;
      }
      EXPECT_EQ(exact[i * n + j], float(sum));
      EXPECT_EQ(fp32[i * n + j], acc);
    }
}

// result=F rounds the finished sum once: with an fp32 accumulator, the fp32 product quantized
// to F by swalp::quantize (nearest); a stochastic result draws the element's last step.
TEST(Matmul, ResultRoundingIsTheFinishedSumQuantized) {
  const size_t m = 3, n = 20, k = 50;
  const auto a = random_matrix(m * k, 8, false), b = random_matrix(k * n, 9, false);
  std::vector<float> fp32(m * n), rounded(m * n), expected(m * n);
  matmul(parse_accumulate("fp32"), a.data(), b.data(), fp32.data(), m, n, k);
  for (const char* format : {"bf16", "fp8e4m3", "fp16"}) {
    matmul(parse_accumulate(std::string("fp32:result=") + format), a.data(), b.data(),
           rounded.data(), m, n, k);
    quantize(make_quant_spec(format), fp32.data(), expected.data(), fp32.size());
    EXPECT_EQ(rounded, expected) << format;
  }
  // Stochastic: only the result rounding differs from an fp32 sum; every value is one of the two
  // bf16 neighbours of the fp32 sum, and both occur.
  matmul(parse_accumulate("fp32:result=bf16:rounding=stochastic", 3), a.data(), b.data(),
         rounded.data(), m, n, k);
  std::vector<float> down(m * n), up(m * n);
  quantize(make_quant_spec("bf16", "down"), fp32.data(), down.data(), fp32.size());
  quantize(make_quant_spec("bf16", "up"), fp32.data(), up.data(), fp32.size());
  size_t ups = 0, downs = 0;
  for (size_t i = 0; i < rounded.size(); ++i) {
    EXPECT_TRUE(rounded[i] == down[i] || rounded[i] == up[i]) << i;
    ups += rounded[i] == up[i] && up[i] != down[i];
    downs += rounded[i] == down[i] && up[i] != down[i];
  }
  EXPECT_GT(ups, 0u);
  EXPECT_GT(downs, 0u);
  EXPECT_EQ(accumulate_steps(parse_accumulate("fp16:result=bf16"), 10), 11u);
  EXPECT_EQ(accumulate_steps(parse_accumulate("fp16:order=pairwise:result=exact"), 10), 19u);
}

TEST(Matmul, EmptySumsAreZero) {
  const std::vector<float> none;
  std::vector<float> c(6, 5.0f);
  for (const char* spelling : {"fp16", "fp16:order=pairwise", "bf16:chunk=4", "posit16"}) {
    matmul(parse_accumulate(spelling), none.data(), none.data(), c.data(), 2, 3, 0);
    for (float v : c) EXPECT_EQ(v, 0.0f) << spelling;
  }
}

TEST(Matmul, StepsPerElement) {
  EXPECT_EQ(accumulate_steps(parse_accumulate("fp16"), 100), 100u);
  EXPECT_EQ(accumulate_steps(parse_accumulate("fp16:chunk=32"), 100), 104u);
  EXPECT_EQ(accumulate_steps(parse_accumulate("fp16:order=pairwise"), 100), 199u);
}

TEST(Matmul, BadSpecsAreRefusedWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "accumulator format is missing"},
      {"chunk=4", "accumulator format is missing"},
      {"fp17", "fp17"},
      {"bfp:8", "shares a scale"},
      {"mx:fp8e4m3", "shares a scale"},
      {"e8m0", "has no sign"},
      {"fp16:chunk=0", "chunk=0"},
      {"fp16:chunk=x", "chunk=x"},
      {"fp16:order=chunked", "needs chunk"},
      {"fp16:order=random", "order=random"},
      {"fp16:order=pairwise:chunk=4", "belong to order=chunked"},
      {"fp16:outer=bf16", "belong to order=chunked"},
      {"fp16:chunk=4:outer=dt8", "shares a scale"},
      {"fp16:product=int:8", "shares a scale"},
      {"fp16:rounding=sideways", "sideways"},
      {"fp16:rounding=stochastic:30", "1..24"},
      {"fp16:colour=red", "unknown option 'colour'"},
      {"fp16:result=mx:fp8e4m3", "shares a scale"},
      {"fp16:result=", "has no value"},
      {"fp16:chunk=", "has no value"},
  };
  for (const auto& [spelling, reason] : bad) {
    try {
      parse_accumulate(spelling);
      ADD_FAILURE() << spelling << " was accepted";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos)
          << spelling << ": " << e.what();
    }
  }
  const AccumulateSpec spec =
      parse_accumulate("FP16:Chunk=32:outer=float:8:10:rounding=stochastic:8");
  EXPECT_EQ(spec.order, SumOrder::kChunked);
  EXPECT_EQ(spec.chunk, 32u);
  EXPECT_EQ(spec.outer.spelling, parse_format("float:8:10").spelling);
  EXPECT_EQ(spec.rounding, Rounding::kStochastic);
  EXPECT_EQ(spec.stochastic_bits, 8);
}

TEST(Matmul, OverflowingSizesAreRefused) {
  float x = 0;
  const size_t huge = size_t(1) << 62;
  EXPECT_THROW(matmul(parse_accumulate("fp16"), &x, &x, &x, huge, 4, huge), InvalidInput);
  EXPECT_THROW(matmul_reference(parse_accumulate("fp16"), &x, &x, &x, 4, huge, huge), InvalidInput);
}

}  // namespace
}  // namespace swalp
