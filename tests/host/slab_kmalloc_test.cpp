// kmalloc family: size classes, alignment, overflow checks, zero size,
// large allocations, krealloc/ksize, DMA caches, misuse reports,
// concurrency.
#include <random>
#include <thread>
#include <vector>

#include "slab_test_machine.h"

namespace {

using k::GFP_KERNEL;
using slabtest::SlabFixture;

class Kmalloc : public SlabFixture {};

TEST_F(Kmalloc, every_size_gets_the_smallest_class_that_fits) {
  EXPECT_EQ(k::kmalloc_class_size(k::kmalloc_index(1)), 8u);
  EXPECT_EQ(k::kmalloc_class_size(k::kmalloc_index(65)), 96u);
  EXPECT_EQ(k::kmalloc_class_size(k::kmalloc_index(97)), 128u);
  EXPECT_EQ(k::kmalloc_class_size(k::kmalloc_index(129)), 192u);
  EXPECT_EQ(k::kmalloc_class_size(k::kmalloc_index(193)), 256u);
  EXPECT_EQ(k::kmalloc_class_size(k::kmalloc_index(8192)), 8192u);
  EXPECT_EQ(k::kmalloc_index(8193), 0u);
  for (size_t size = 1; size <= k::KMALLOC_MAX_CACHE_SIZE; size += (size < 300 ? 1 : 37)) {
    auto* p = static_cast<uint8_t*>(k::kmalloc(size, GFP_KERNEL));
    ASSERT_NE(p, nullptr) << size;
    const size_t cls = k::kmalloc_class_size(k::kmalloc_index(size));
    EXPECT_EQ(k::ksize(p), cls) << size;
    EXPECT_GE(cls, size);
    std::memset(p, 0xab, k::ksize(p));  // the whole class size is usable
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    EXPECT_EQ(a % 8, 0u);
    if (k::is_pow2(cls)) {
      EXPECT_EQ(a % cls, 0u) << "power-of-two sizes are naturally aligned: " << size;
    }
    k::kfree(p);
  }
  EXPECT_EQ(reports(), 0u);
}

TEST_F(Kmalloc, size_computations_overflow_to_nullptr) {
  EXPECT_EQ(k::kmalloc_array(SIZE_MAX / 2 + 1, 2, GFP_KERNEL), nullptr);
  EXPECT_EQ(k::kcalloc(SIZE_MAX / 8 + 1, 8, GFP_KERNEL), nullptr);
  EXPECT_EQ(k::kvmalloc_array(SIZE_MAX, SIZE_MAX, GFP_KERNEL), nullptr);
  EXPECT_EQ(k::kmalloc(SIZE_MAX, GFP_KERNEL | k::__GFP_NOWARN), nullptr);
  EXPECT_EQ(k::kmalloc(k::KMALLOC_MAX_SIZE + 1, GFP_KERNEL), nullptr);
  auto* p = static_cast<uint64_t*>(k::kcalloc(100, 8, GFP_KERNEL));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p[i], 0u);
  k::kfree(p);
}

TEST_F(Kmalloc, zero_size_is_a_distinct_sentinel_and_kfree_ignores_it) {
  void* z = k::kmalloc(0, GFP_KERNEL);
  EXPECT_EQ(z, k::ZERO_SIZE_PTR);
  EXPECT_NE(z, nullptr);
  EXPECT_EQ(k::kmalloc_array(0, 8, GFP_KERNEL), k::ZERO_SIZE_PTR);
  EXPECT_EQ(k::ksize(z), 0u);
  k::kfree(z);
  k::kfree(nullptr);
  EXPECT_EQ(reports(), 0u);
}

TEST_F(Kmalloc, large_sizes_come_from_compound_pages) {
  const uint64_t free0 = k::nr_free_pages();
  auto* p = static_cast<uint8_t*>(k::kmalloc(20000, GFP_KERNEL));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % k::kPageSize, 0u);
  EXPECT_EQ(k::ksize(p), 32768u);
  EXPECT_EQ(k::kmalloc_large_pages(), 8u);
  k::Page* head = k::virt_to_page(p);
  EXPECT_TRUE(head->head());
  EXPECT_TRUE(k::virt_to_page(p + 20000)->tail());
  std::memset(p, 1, 32768);
  k::kfree(p + 4096);  // not the start: refused
  EXPECT_EQ(reports(), 1u);
  k::kfree(p);
  EXPECT_EQ(k::kmalloc_large_pages(), 0u);
  EXPECT_EQ(k::nr_free_pages(), free0);
  auto* z = static_cast<uint8_t*>(k::kzalloc(3 * 4096 + 1, GFP_KERNEL));
  for (int i = 0; i < 3 * 4096 + 1; ++i) ASSERT_EQ(z[i], 0);
  k::kfree(z);
}

TEST_F(Kmalloc, krealloc_keeps_contents_and_ksize_tracks_the_class) {
  auto* p = static_cast<uint8_t*>(k::krealloc(nullptr, 10, GFP_KERNEL));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(k::ksize(p), 16u);
  for (int i = 0; i < 10; ++i) p[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(k::krealloc(p, 16, GFP_KERNEL), p) << "fits in place";
  auto* q = static_cast<uint8_t*>(k::krealloc(p, 1000, GFP_KERNEL));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(k::ksize(q), 1024u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(q[i], i);
  auto* r = static_cast<uint8_t*>(k::krealloc(q, 50000, GFP_KERNEL | k::__GFP_ZERO));
  ASSERT_NE(r, nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r[i], i);
  for (int i = 1024; i < 50000; ++i) ASSERT_EQ(r[i], 0);
  EXPECT_EQ(k::krealloc(r, 0, GFP_KERNEL), k::ZERO_SIZE_PTR);
  EXPECT_EQ(k::kmalloc_large_pages(), 0u);
  int local;
  EXPECT_EQ(k::krealloc(&local, 100, GFP_KERNEL), nullptr);
  EXPECT_EQ(reports(), 1u);
}

TEST_F(Kmalloc, kfree_of_foreign_pointers_is_reported_not_obeyed) {
  int local = 0;
  k::kfree(&local);
  void* page = k::__get_free_page(GFP_KERNEL);
  k::kfree(page);
  k::Page* comp = k::alloc_pages(GFP_KERNEL | k::__GFP_COMP, 2);
  k::kfree(k::page_address(comp));  // compound, but not kmalloc's
  EXPECT_EQ(reports(), 3u);
  EXPECT_EQ(slabtest::count(host::log_text(), "kfree of a pointer kmalloc did not return"), 3u);
  k::free_page(page);
  k::__free_pages(comp, 2);
  auto* p = static_cast<char*>(k::kmalloc(64, GFP_KERNEL));
  k::kfree(p + 8);  // inside an object
  EXPECT_EQ(reports(), 4u);
  k::kfree(p);
}

TEST_F(Kmalloc, dma_flags_select_dma_caches) {
  boot(slabtest::straddle_machine(2));
  std::vector<void*> v;
  for (int i = 0; i < 300; ++i) {
    void* d = k::kmalloc(200, GFP_KERNEL | k::GFP_DMA32);
    void* n = k::kmalloc(200, GFP_KERNEL);
    void* big = k::kmalloc(70000, GFP_KERNEL | k::GFP_DMA32);
    EXPECT_LT(arch::virt_to_phys(d).value(), 4 * slabtest::GiB);
    EXPECT_LT(arch::virt_to_phys(big).value(), 4 * slabtest::GiB);
    EXPECT_STREQ(k::kmem_cache_name(k::virt_to_cache(d)), "dma32-kmalloc-256");
    EXPECT_STREQ(k::kmem_cache_name(k::virt_to_cache(n)), "kmalloc-256");
    v.insert(v.end(), {d, n, big});
  }
  void* dma = k::kmalloc(64, GFP_KERNEL | k::GFP_DMA);
  EXPECT_STREQ(k::kmem_cache_name(k::virt_to_cache(dma)), "dma-kmalloc-64");
  v.push_back(dma);
  for (void* p : v) k::kfree(p);
}

TEST_F(Kmalloc, kvmalloc_without_vmalloc_is_kmalloc) {
  void* p = k::kvzalloc(100000, GFP_KERNEL);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(static_cast<uint8_t*>(p)[99999], 0);
  EXPECT_EQ(k::kmalloc_large_pages(), 32u);
  k::kvfree(p);
  void* s = k::kvmalloc(100, GFP_KERNEL);
  EXPECT_EQ(k::ksize(s), 128u);
  k::kvfree(s);
}

TEST_F(Kmalloc, all_cpus_kmalloc_and_kfree_at_once) {
  std::atomic<bool> bad{false};
  auto worker = [&](unsigned cpu) {
    arch::set_this_cpu(cpu);
    std::mt19937 rng(cpu);
    std::vector<std::pair<uint8_t*, size_t>> live;
    for (int i = 0; i < 20000; ++i) {
      if (live.size() < 200 && (rng() & 1)) {
        const size_t size = 1 + rng() % (rng() % 16 == 0 ? 20000 : 600);
        auto* p = static_cast<uint8_t*>(k::kmalloc(size, GFP_KERNEL));
        if (!p) {
          bad = true;
          return;
        }
        std::memset(p, static_cast<int>(cpu + 1), size);
        live.emplace_back(p, size);
      } else if (!live.empty()) {
        auto [p, size] = live.back();
        live.pop_back();
        for (size_t b = 0; b < size; ++b)
          if (p[b] != cpu + 1) bad = true;
        k::kfree(p);
      }
    }
    for (auto [p, size] : live) k::kfree(p);
  };
  std::vector<std::thread> ts;
  for (unsigned cpu = 0; cpu < 4; ++cpu) ts.emplace_back(worker, cpu);
  for (auto& t : ts) t.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(reports(), 0u);
}

}  // namespace
