// The speedup model of `swalp bench comm`: each exchange's seconds term by term, and the limits
// (one worker; free link and codec) where the answer is known without the model.
#include <gtest/gtest.h>

#include "perf_model/speedup_model.h"

namespace swalp::perf {
namespace {

TEST(SpeedupModel, EachExchangeCountsItsBytesAndItsCodecWork) {
  ExchangeSetting s;
  s.parameters = 1e6;
  s.link_bytes_per_s = 1e9;
  s.latency_s = 0;
  s.encode_bytes_per_s = 2e9;
  s.decode_bytes_per_s = 4e9;
  const ExchangeSeconds t = exchange_seconds(s, 4);
  // fp32 ring: 2 * 3/4 * 4 MB at 1 GB/s.
  EXPECT_DOUBLE_EQ(t.fp32_ring, 6e-3);
  // all-gather: 3 MB sent; encode 4 MB at 2 GB/s; decode 4 x 4 MB at 4 GB/s.
  EXPECT_DOUBLE_EQ(t.gather_8bit, 3e-3 + 2e-3 + 4e-3);
  // reduce-scatter: 1.5 MB sent; encode 4 MB x (1 + 1/4); decode 2 x 4 MB: the encode of the
  // gradient is counted once (it was counted twice, 8P / encode, before).
  EXPECT_DOUBLE_EQ(t.reduce_scatter_8bit, 1.5e-3 + 2.5e-3 + 2e-3);
}

TEST(SpeedupModel, OneWorkerAndFreeCommunicationGiveTheKnownSpeedups) {
  const ExchangeSeconds one = exchange_seconds(ExchangeSetting{}, 1);
  EXPECT_EQ(one.fp32_ring + one.gather_8bit + one.reduce_scatter_8bit, 0.0);
  EXPECT_DOUBLE_EQ(speedup(1, 0.2, 0.0), 1.0);
  ExchangeSetting free_link;
  free_link.link_bytes_per_s = free_link.encode_bytes_per_s = free_link.decode_bytes_per_s = 1e300;
  free_link.latency_s = 0;
  const ExchangeSeconds t = exchange_seconds(free_link, 96);
  EXPECT_NEAR(speedup(96, 0.2, t.reduce_scatter_8bit), 96.0, 1e-9);
  // With a slow link, 8 bits on the wire beat the fp32 ring once the codec is fast enough.
  ExchangeSetting slow = free_link;
  slow.link_bytes_per_s = 1e9;
  const ExchangeSeconds u = exchange_seconds(slow, 96);
  EXPECT_GT(speedup(96, 0.2, u.reduce_scatter_8bit), 3.5 * speedup(96, 0.2, u.fp32_ring) / 4);
  EXPECT_NEAR(u.fp32_ring / u.reduce_scatter_8bit, 4.0, 1e-9);
}

}  // namespace
}  // namespace swalp::perf
