// Dynamic per-CPU allocator over fake per-CPU areas: per_cpu_ptr reaches
// each CPU's own copy, allocations are zeroed, aligned and disjoint, the
// region's limit is reported, and everything comes back.
#include <arch/percpu.h>

#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "mm/percpu_alloc.h"
#include "slab_test_machine.h"

namespace {

size_t slabtest_count(const std::string& log) {
  size_t n = 0;
  for (size_t p = log.find("free_percpu:"); p != std::string::npos;
       p = log.find("free_percpu:", p + 1))
    ++n;
  return n;
}

// Over the slab test machine (chunk descriptors come from kmalloc) with
// fake per-CPU units: reservations whose unpopulated parts fault.
class PercpuAlloc : public slabtest::SlabFixture {
 protected:
  static constexpr unsigned kCpus = 4;
  void SetUp() override {
    SlabFixture::SetUp();
    arch::set_nr_cpus(kCpus);
    ASSERT_TRUE(arch::fake_percpu_units(kCpus, k::percpu_area_size()));
    for (unsigned c = 0; c < kCpus; ++c) areas_[c] = reinterpret_cast<char*>(arch::cpu_block_of(c));
    k::percpu_dynamic_init();
    EXPECT_EQ(k::percpu_dynamic_used(), 0u);
  }
  void TearDown() override {
    EXPECT_EQ(k::percpu_dynamic_used(), 0u);
    k::percpu_shrink();
    EXPECT_EQ(k::percpu_nr_chunks(), 1u);
    EXPECT_EQ(arch::percpu_populated_pages(), 0u);
    arch::fake_percpu_units(0, 0);
    SlabFixture::TearDown();
  }
  char* areas_[kCpus] = {};
};

TEST_F(PercpuAlloc, region_follows_the_template) {
  EXPECT_EQ(k::percpu_dynamic_offset(), 256u);
  EXPECT_EQ(k::percpu_area_size(), 256u + k::percpu_dynamic_reserve());
  EXPECT_EQ(k::percpu_dynamic_reserve(), 64u * 1024);
  EXPECT_EQ(k::percpu_chunk_size(), 64u * 1024);
  EXPECT_EQ(k::percpu_nr_chunks(), 1u);
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

TEST_F(PercpuAlloc, bad_requests_and_bad_frees_are_refused) {
  void* p = k::alloc_percpu(1000, 16);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(k::alloc_percpu(0, 8), nullptr);
  EXPECT_EQ(k::alloc_percpu(8, 3), nullptr);
  EXPECT_EQ(k::alloc_percpu(8, 8192), nullptr);
  EXPECT_EQ(k::alloc_percpu(k::percpu_chunk_size() + 1, 16), nullptr);
  k::free_percpu(static_cast<char*>(p) + 16);
  k::free_percpu(__percpu_start);
  k::free_percpu(__percpu_start + (size_t{1} << 40));
  EXPECT_EQ(slabtest_count(host::log_text()), 3u);
  k::free_percpu(p);
  k::free_percpu(p);  // double free
  EXPECT_EQ(slabtest_count(host::log_text()), 4u);
  k::free_percpu(nullptr);
}

TEST_F(PercpuAlloc, grows_past_the_first_chunk_and_frees_empty_chunks) {
  const uint64_t chunk_pages = k::percpu_chunk_size() / 4096;
  std::vector<void*> v;
  // Fills the first chunk (1008-byte runs: 65 fit), then three more.
  while (v.size() < 4 * 65) {
    void* p = k::alloc_percpu(1000, 16);
    ASSERT_NE(p, nullptr) << v.size();
    v.push_back(p);
  }
  EXPECT_EQ(k::percpu_nr_chunks(), 4u);
  EXPECT_EQ(arch::percpu_populated_pages(), 3 * chunk_pages * kCpus);
  // Grown chunks lie after the first chunk at page-aligned offsets, and
  // every CPU's copy is inside that CPU's unit.
  for (void* p : v) {
    const size_t off = static_cast<char*>(p) - __percpu_start;
    EXPECT_LT(off, arch::percpu_unit_size());
    for (unsigned c = 0; c < kCpus; ++c) {
      auto* b = static_cast<uint8_t*>(per_cpu_ptr(p, c));
      EXPECT_EQ(b, reinterpret_cast<uint8_t*>(areas_[c]) + off);
      for (size_t j = 0; j < 1000; ++j) ASSERT_EQ(b[j], 0u);
      std::memset(b, 0x10 + c, 1000);
    }
  }
  for (void* p : v)
    for (unsigned c = 0; c < kCpus; ++c)
      ASSERT_EQ(static_cast<uint8_t*>(per_cpu_ptr(p, c))[999], 0x10 + c);
  // Free the last chunk's objects: it stays as the one spare.
  for (size_t i = 3 * 65; i < v.size(); ++i) k::free_percpu(v[i]);
  EXPECT_EQ(k::percpu_nr_chunks(), 4u);
  // Free the third chunk's too: now one of the two empty chunks goes.
  for (size_t i = 2 * 65; i < 3 * 65; ++i) k::free_percpu(v[i]);
  EXPECT_EQ(k::percpu_nr_chunks(), 3u);
  EXPECT_EQ(arch::percpu_populated_pages(), 2 * chunk_pages * kCpus);
  // The spare is reused before anything new is mapped.
  void* again = k::alloc_percpu(1000, 16);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(k::percpu_nr_chunks(), 3u);
  k::free_percpu(again);
  for (size_t i = 0; i < 2 * 65; ++i) k::free_percpu(v[i]);
  EXPECT_EQ(k::percpu_dynamic_used(), 0u);
  EXPECT_LE(k::percpu_nr_chunks(), 2u);  // the first chunk and one spare
  k::percpu_shrink();
  EXPECT_EQ(k::percpu_nr_chunks(), 1u);
  EXPECT_EQ(arch::percpu_populated_pages(), 0u);
}

TEST_F(PercpuAlloc, a_full_unit_and_a_failed_populate_are_reported_and_recover) {
  std::vector<void*> v;
  // 64 KiB allocations: one per chunk, until the 4 MiB fake unit is full.
  while (void* p = k::alloc_percpu(k::percpu_chunk_size(), 16)) v.push_back(p);
  EXPECT_EQ(v.size(), arch::percpu_unit_size() / k::percpu_chunk_size() - 1);
  EXPECT_NE(host::log_text().find("per-CPU unit is full"), std::string::npos);
  for (void* p : v) k::free_percpu(p);
  k::percpu_shrink();
  EXPECT_EQ(arch::percpu_populated_pages(), 0u);
  // Populating fails half-way (on the third CPU): nothing stays mapped.
  void* small = k::alloc_percpu(16, 16);  // the first chunk cannot take 64 KiB now
  arch::fake_percpu_fail_after(2 * k::percpu_chunk_size() / 4096);
  EXPECT_EQ(k::alloc_percpu(k::percpu_chunk_size(), 16), nullptr);
  EXPECT_EQ(arch::percpu_populated_pages(), 0u);
  EXPECT_EQ(k::percpu_nr_chunks(), 1u);
  arch::fake_percpu_fail_after(~uint64_t{0});
  void* p = k::alloc_percpu(k::percpu_chunk_size(), 16);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(k::percpu_nr_chunks(), 2u);
  k::free_percpu(p);
  k::free_percpu(small);
}

}  // namespace
