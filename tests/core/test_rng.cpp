#include <gtest/gtest.h>

#include <set>

#include "swalp/rng.h"

namespace swalp {

// Known-answer vectors of Philox4x32-10 published with Random123 (kat_vectors).
TEST(Philox, KnownAnswers) {
  using Words = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (Words{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (Words{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (Words{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, ElementBitsComeFromTheirBlock) {
  const uint64_t seed = 0x1234567890abcdefULL, stream = 7;
  for (uint64_t i = 0; i < 64; ++i) {
    const uint64_t block = i / 4;
    const auto words = philox4x32_10({uint32_t(block), uint32_t(block >> 32), uint32_t(stream), 0},
                                     {uint32_t(seed), uint32_t(seed >> 32)});
    EXPECT_EQ(philox_bits(seed, stream, i), words[i % 4]);
  }
}

TEST(Philox, SeedStreamAndIndexAllMatter) {
  std::set<uint32_t> seen;
  for (uint64_t seed : {0ULL, 1ULL, 1ULL << 40})
    for (uint64_t stream : {0ULL, 1ULL, 1ULL << 33})
      for (uint64_t i : {0ULL, 1ULL, 5ULL, 1ULL << 34}) seen.insert(philox_bits(seed, stream, i));
  EXPECT_EQ(seen.size(), 3u * 3u * 4u);
}

}  // namespace swalp
