// `swalp accumulate`'s experiment: on all-positive data a round-to-nearest fp16 sum's error grows
// about linearly in K and a stochastically rounded one's about as sqrt(K); exact sums have no
// error; bad options are refused.
#include <gtest/gtest.h>

#include "accumulation/experiment.h"
#include "swalp/error.h"

namespace swalp::accumulation {
namespace {

double slope_of(const Result& r, const std::string& kind, const std::string& rounding,
                const std::string& data) {
  for (const Fit& f : r.fits)
    if (f.kind == kind && f.rounding == rounding && f.data == data) return f.slope;
  ADD_FAILURE() << "no fit for " << kind << " " << rounding << " " << data;
  return 0;
}

TEST(Accumulation, NearestGrowsLinearlyAndStochasticAsSqrtOnPositiveData) {
  Options o;
  o.accumulators = {"fp16"};
  o.data = {Data::kPositive, Data::kNormal};
  o.min_log2_k = 6, o.max_log2_k = 12;
  o.trials = 32;
  const Result r = run(o);
  ASSERT_EQ(r.points.size(), 2u * 7 * 2 * 2);  // data x K x rounding x kind
  for (const char* kind : {"dot", "matmul"}) {
    const double nearest = slope_of(r, kind, "nearest", "positive");
    const double stochastic = slope_of(r, kind, "stochastic", "positive");
    EXPECT_GT(nearest, 0.7) << kind;
    EXPECT_GT(stochastic, 0.3) << kind;
    EXPECT_LT(stochastic, 0.7) << kind;
    EXPECT_GT(nearest - stochastic, 0.2) << kind;
  }
  // Zero-mean data: rounding errors cancel like the terms, so the normwise error stays flat.
  EXPECT_LT(std::abs(slope_of(r, "dot", "nearest", "normal")), 0.3);
}

TEST(Accumulation, ExactSumsHaveNoError) {
  Options o;
  o.accumulators = {"exact", "fp32:chunk=4:outer=exact"};
  o.roundings = {"nearest"};
  o.data = {Data::kUniform};
  o.min_log2_k = 2, o.max_log2_k = 5;
  o.trials = 4;
  for (const Point& p : run(o).points)
    EXPECT_LT(p.max_error, p.accumulator == "exact" ? 1e-7 : 1e-6) << p.kind << " K=" << p.k;
}

TEST(Accumulation, BadOptionsAreRefused) {
  Options o;
  o.min_log2_k = 9, o.max_log2_k = 3;
  EXPECT_THROW(run(o), InvalidInput);
  o = Options{};
  o.accumulators = {"bfp:8"};
  EXPECT_THROW(run(o), InvalidInput);
  o = Options{};
  o.roundings = {"sideways"};
  EXPECT_THROW(run(o), InvalidInput);
  o = Options{};
  o.trials = 0;
  EXPECT_THROW(run(o), InvalidInput);
}

}  // namespace
}  // namespace swalp::accumulation
