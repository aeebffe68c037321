// The bounce pool's slot allocator (mm/dma/swiotlb_slots.h) against a
// model: random alloc/free, alignment, exhaustion, bad frees.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "mm/dma/swiotlb_slots.h"

namespace {

using k::SwiotlbSlots;

struct Pool {
  explicit Pool(uint32_t n) : bits(SwiotlbSlots::bitmap_words(n), ~uint64_t{0}) {
    s.init(bits.data(), n);
  }
  std::vector<uint64_t> bits;
  SwiotlbSlots s;
};

TEST(SwiotlbSlots, rejects_bad_requests) {
  Pool p(256);
  EXPECT_FALSE(p.s.alloc(0).has_value());
  EXPECT_FALSE(p.s.alloc(k::kSwiotlbMaxRun + 1).has_value());
  EXPECT_FALSE(p.s.alloc(4, 3).has_value());  // alignment not a power of two
  EXPECT_FALSE(p.s.alloc(4, 0).has_value());
  EXPECT_EQ(p.s.used(), 0u);  // init cleared the all-ones bitmap
  Pool tiny(8);
  EXPECT_FALSE(tiny.s.alloc(9).has_value());
}

TEST(SwiotlbSlots, exhaustion_fails_and_frees_restore_everything) {
  Pool p(1024);
  std::vector<uint32_t> runs;
  while (auto i = p.s.alloc(128)) runs.push_back(*i);
  EXPECT_EQ(runs.size(), 8u);
  EXPECT_EQ(p.s.used(), 1024u);
  EXPECT_FALSE(p.s.alloc(1).has_value());
  for (uint32_t r : runs) EXPECT_TRUE(p.s.free(r, 128));
  EXPECT_EQ(p.s.used(), 0u);
  EXPECT_EQ(p.s.high_water(), 1024u);
  EXPECT_TRUE(p.s.alloc(128).has_value());
}

TEST(SwiotlbSlots, bad_frees_change_nothing) {
  Pool p(64);
  auto a = p.s.alloc(4);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(p.s.free(*a + 4, 1));  // never allocated
  EXPECT_FALSE(p.s.free(*a, 5));      // runs past the allocation
  EXPECT_FALSE(p.s.free(60, 8));      // past the pool
  EXPECT_FALSE(p.s.free(0, 0));
  EXPECT_EQ(p.s.used(), 4u);
  EXPECT_TRUE(p.s.free(*a, 4));
  EXPECT_FALSE(p.s.free(*a, 4));  // double free
  EXPECT_EQ(p.s.used(), 0u);
}

TEST(SwiotlbSlots, fragmentation_is_handled_by_wrapping_search) {
  Pool p(16);
  auto a = p.s.alloc(8);
  auto b = p.s.alloc(8);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(p.s.free(*a, 8));
  auto c = p.s.alloc(8);  // cursor at the end: must wrap to the freed run
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, *a);
  EXPECT_FALSE(p.s.alloc(1).has_value());
}

TEST(SwiotlbSlots, random_operations_match_a_model) {
  constexpr uint32_t kSlots = 2048;
  Pool p(kSlots);
  std::mt19937 rng(5);
  std::map<uint32_t, uint32_t> live;  // start -> count
  std::vector<bool> model(kSlots, false);
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      const uint32_t count = 1 + rng() % 128;
      const uint32_t align = 1u << (rng() % 3);
      auto i = p.s.alloc(count, align);
      if (!i) continue;
      ASSERT_EQ(*i % align, 0u);
      ASSERT_LE(*i + count, kSlots);
      for (uint32_t j = *i; j < *i + count; ++j) {
        ASSERT_FALSE(model[j]) << "slot " << j << " handed out twice";
        model[j] = true;
      }
      live[*i] = count;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      ASSERT_TRUE(p.s.free(it->first, it->second));
      for (uint32_t j = it->first; j < it->first + it->second; ++j) model[j] = false;
      live.erase(it);
    }
    uint32_t used = 0;
    for (bool b : model) used += b;
    ASSERT_EQ(p.s.used(), used);
  }
  for (auto& [i, n] : live) EXPECT_TRUE(p.s.free(i, n));
  EXPECT_EQ(p.s.used(), 0u);
}

}  // namespace
