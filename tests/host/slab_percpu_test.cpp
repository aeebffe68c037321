// Dynamic per-CPU allocator over fake per-CPU areas: per_cpu_ptr reaches
// each CPU's own copy, allocations are zeroed, aligned and disjoint, the
// region's limit is reported, and everything comes back.
#include <arch/percpu.h>

#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "mm/percpu_alloc.h"
#include "mm_test_arena.h"

namespace {

size_t slabtest_count(const std::string& log) {
  size_t n = 0;
  for (size_t p = log.find("free_percpu:"); p != std::string::npos;
       p = log.find("free_percpu:", p + 1))
    ++n;
  return n;
}

class PercpuAlloc : public ::testing::Test {
 protected:
  static constexpr unsigned kCpus = 4;
  void SetUp() override {
    host::g_log_echo = false;
    host::log_clear();
    arch::set_nr_cpus(kCpus);
    for (unsigned c = 0; c < kCpus; ++c) {
      areas_[c] =
          static_cast<char*>(std::aligned_alloc(4096, k::align_up(k::percpu_area_size(), 4096)));
      std::memset(areas_[c], 0xee, k::percpu_area_size());  // garbage, like memblock memory
      arch::set_cpu_block(c, reinterpret_cast<arch::CpuBlock*>(areas_[c]));
    }
    k::percpu_dynamic_init();
  }
  void TearDown() override {
    EXPECT_EQ(k::percpu_dynamic_used(), 0u);
    for (unsigned c = 0; c < kCpus; ++c) {
      arch::set_cpu_block(c, nullptr);
      std::free(areas_[c]);
    }
    arch::set_nr_cpus(1);
    arch::set_this_cpu(0);
    host::g_log_echo = true;
  }
  char* areas_[kCpus] = {};
};

TEST_F(PercpuAlloc, region_follows_the_template) {
  EXPECT_EQ(k::percpu_dynamic_offset(), 256u);
  EXPECT_EQ(k::percpu_area_size(), 256u + k::percpu_dynamic_reserve());
  EXPECT_EQ(k::percpu_dynamic_reserve(), 64u * 1024);
}

TEST_F(PercpuAlloc, each_cpu_has_its_own_zeroed_copy) {
  auto* v = k::alloc_percpu<uint64_t>();
  ASSERT_NE(v, nullptr);
  for (unsigned c = 0; c < kCpus; ++c) {
    uint64_t* p = per_cpu_ptr(v, c);
    EXPECT_EQ(reinterpret_cast<char*>(p),
              areas_[c] + (reinterpret_cast<char*>(v) - __percpu_start));
    EXPECT_EQ(*p, 0u);
    *p = 100 + c;
  }
  for (unsigned c = 0; c < kCpus; ++c) {
    arch::set_this_cpu(c);
    EXPECT_EQ(*this_cpu_ptr(v), 100 + c);
  }
  k::free_percpu(v);
  auto* w = k::alloc_percpu<uint64_t>();
  EXPECT_EQ(w, v) << "first fit reuses the freed units";
  for (unsigned c = 0; c < kCpus; ++c) EXPECT_EQ(*per_cpu_ptr(w, c), 0u) << "zeroed again";
  k::free_percpu(w);
}

TEST_F(PercpuAlloc, randomized_allocations_are_aligned_and_disjoint) {
  std::mt19937 rng(5);
  std::map<uintptr_t, size_t> live;
  for (int i = 0; i < 4000; ++i) {
    if (live.size() < 100 && (rng() % 3)) {
      const size_t size = 1 + rng() % 700;
      const size_t align = size_t{1} << (rng() % 8);  // 1 .. 128
      void* p = k::alloc_percpu(size, align);
      ASSERT_NE(p, nullptr);
      const auto off = reinterpret_cast<uintptr_t>(per_cpu_ptr(static_cast<char*>(p), 0));
      EXPECT_EQ(off % std::max<size_t>(align, 16), 0u);
      const auto a = reinterpret_cast<uintptr_t>(p);
      auto next = live.lower_bound(a);
      if (next != live.end()) {
        ASSERT_GE(next->first, a + size);
      }
      if (next != live.begin()) {
        ASSERT_LE(std::prev(next)->first + std::prev(next)->second, a);
      }
      for (unsigned c = 0; c < kCpus; ++c)
        std::memset(per_cpu_ptr(static_cast<char*>(p), c), c + 1, size);
      live[a] = size;
    } else if (!live.empty()) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      for (unsigned c = 0; c < kCpus; ++c) {
        auto* b = per_cpu_ptr(reinterpret_cast<uint8_t*>(it->first), c);
        for (size_t j = 0; j < it->second; ++j) ASSERT_EQ(b[j], c + 1);
      }
      k::free_percpu(reinterpret_cast<void*>(it->first));
      live.erase(it);
    }
  }
  for (auto [a, s] : live) k::free_percpu(reinterpret_cast<void*>(a));
}

TEST_F(PercpuAlloc, exhaustion_fails_with_a_warning_and_bad_frees_are_refused) {
  std::vector<void*> v;
  while (void* p = k::alloc_percpu(1000, 16)) v.push_back(p);
  EXPECT_EQ(v.size(), 64u * 1024 / 1008);
  EXPECT_NE(host::log_text().find("do not fit the 65536-byte dynamic per-CPU region"),
            std::string::npos);
  EXPECT_EQ(k::alloc_percpu(0, 8), nullptr);
  EXPECT_EQ(k::alloc_percpu(8, 3), nullptr);
  k::free_percpu(static_cast<char*>(v[0]) + 16);
  k::free_percpu(__percpu_start);
  EXPECT_EQ(slabtest_count(host::log_text()), 2u);
  for (void* p : v) k::free_percpu(p);
  k::free_percpu(v[0]);  // double free
  EXPECT_EQ(slabtest_count(host::log_text()), 3u);
  k::free_percpu(nullptr);
}

}  // namespace
