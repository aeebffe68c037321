// kmem_cache_*: randomized alloc/free against a model, layout (alignment,
// colouring, zones, nodes), shrink/destroy, debug detection with exact
// report counts (like Linux's lib/slub_kunit.c), concurrency.
#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "slab_test_machine.h"

namespace {

using k::GFP_KERNEL;
using k::KmemCache;
using slabtest::count;
using slabtest::SlabFixture;

class Slab : public SlabFixture {};

struct Params {
  size_t size;
  size_t align;
  k::slab_flags_t flags;
};

// Random alloc/free with a model of live objects: no two live objects
// overlap, every object is aligned, its contents survive until freed, and
// the live-object counter matches the model at every step.
void run_model(KmemCache* c, const Params& p, uint64_t base_objects, unsigned steps,
               unsigned seed) {
  std::mt19937 rng(seed);
  std::map<uintptr_t, uint8_t> live;  // address -> fill byte
  const size_t align = std::max<size_t>(p.align, k::kSlabMinAlign);
  for (unsigned i = 0; i < steps; ++i) {
    const bool do_alloc = live.empty() || (rng() % 100) < (live.size() < 3000 ? 60 : 30);
    if (do_alloc) {
      auto* obj = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
      ASSERT_NE(obj, nullptr);
      const auto a = reinterpret_cast<uintptr_t>(obj);
      ASSERT_EQ(a % align, 0u) << "size " << p.size;
      auto next = live.lower_bound(a);
      if (next != live.end()) {
        ASSERT_GE(next->first, a + p.size) << "overlaps the next object";
      }
      if (next != live.begin()) {
        ASSERT_LE(std::prev(next)->first + p.size, a) << "overlaps the previous";
      }
      const uint8_t fill = static_cast<uint8_t>(rng());
      std::memset(obj, fill, p.size);
      live[a] = fill;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      auto* obj = reinterpret_cast<uint8_t*>(it->first);
      for (size_t b = 0; b < p.size; ++b)
        ASSERT_EQ(obj[b], it->second) << "object contents changed";
      k::kmem_cache_free(c, obj);
      live.erase(it);
    }
    if (i % 257 == 0) {
      ASSERT_EQ(k::slab_nr_objects() - base_objects, live.size());
    }
  }
  for (auto& [a, fill] : live) k::kmem_cache_free(c, reinterpret_cast<void*>(a));
  EXPECT_EQ(k::slab_nr_objects(), base_objects);
}

TEST_F(Slab, randomized_alloc_free_matches_model) {
  const Params cases[] = {
      {8, 0, 0},
      {24, 0, 0},
      {100, 0, k::SLAB_HWCACHE_ALIGN},
      {200, 16, 0},
      {1000, 0, 0},
      {3000, 512, 0},
      {5000, 0, 0},
      {40, 0, k::SLAB_POISON | k::SLAB_RED_ZONE | k::SLAB_CONSISTENCY_CHECKS},
      {700, 64, k::SLAB_RED_ZONE},
  };
  unsigned seed = 1;
  for (const Params& p : cases) {
    KmemCache* c = k::kmem_cache_create("model", p.size, p.align, p.flags, nullptr);
    ASSERT_NE(c, nullptr);
    const uint64_t base = k::slab_nr_objects();
    run_model(c, p, base, 8000, seed++);
    EXPECT_TRUE(k::kmem_cache_destroy(c));
  }
  EXPECT_EQ(reports(), 0u);
}

TEST_F(Slab, hwcache_align_and_explicit_align_hold) {
  KmemCache* a = k::kmem_cache_create("hw", 100, 0, k::SLAB_HWCACHE_ALIGN, nullptr);
  KmemCache* b = k::kmem_cache_create("small-hw", 20, 0, k::SLAB_HWCACHE_ALIGN, nullptr);
  KmemCache* c = k::kmem_cache_create("al256", 72, 256, 0, nullptr);
  ASSERT_TRUE(a && b && c);
  std::vector<std::pair<KmemCache*, void*>> objs;
  for (int i = 0; i < 300; ++i) {
    void* x = k::kmem_cache_alloc(a, GFP_KERNEL);
    void* y = k::kmem_cache_alloc(b, GFP_KERNEL);
    void* z = k::kmem_cache_alloc(c, GFP_KERNEL);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(y) % 32, 0u);  // 20 bytes share lines in 32-byte units
    EXPECT_EQ(reinterpret_cast<uintptr_t>(z) % 256, 0u);
    objs.insert(objs.end(), {{a, x}, {b, y}, {c, z}});
  }
  for (auto [s, o] : objs) k::kmem_cache_free(s, o);
  EXPECT_TRUE(k::kmem_cache_destroy(a));
  EXPECT_TRUE(k::kmem_cache_destroy(b));
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, bad_arguments_are_refused) {
  EXPECT_EQ(k::kmem_cache_create("zero", 0, 0, 0, nullptr), nullptr);
  EXPECT_EQ(k::kmem_cache_create("align3", 64, 3, 0, nullptr), nullptr);
  EXPECT_EQ(k::kmem_cache_create(nullptr, 64, 0, 0, nullptr), nullptr);
  EXPECT_EQ(k::kmem_cache_create("huge", size_t{1} << 40, 0, 0, nullptr), nullptr);
  EXPECT_EQ(k::kmem_cache_create("both", 64, 0, k::SLAB_CACHE_DMA | k::SLAB_CACHE_DMA32, nullptr),
            nullptr);
  EXPECT_EQ(k::kmem_cache_create("flags", 64, 0, 1u << 30, nullptr), nullptr);
  EXPECT_EQ(count(host::log_text(), "kmem_cache_create("), 6u);
  EXPECT_EQ(k::kmem_cache_alloc(nullptr, GFP_KERNEL), nullptr);
  k::kmem_cache_free(nullptr, nullptr);
  EXPECT_TRUE(k::kmem_cache_destroy(nullptr));
}

TEST_F(Slab, slabs_are_coloured) {
  // 200-byte slots: 20 per page with 96 bytes left, so two colours.
  KmemCache* c = k::kmem_cache_create("colour", 200, 8, 0, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->order, 0u);
  EXPECT_EQ(c->colour, 2u);
  std::vector<void*> objs;
  std::set<uint64_t> first_offsets;
  for (int i = 0; i < 20 * 6; ++i) {
    void* o = k::kmem_cache_alloc(c, GFP_KERNEL);
    ASSERT_NE(o, nullptr);
    objs.push_back(o);
    first_offsets.insert(reinterpret_cast<uintptr_t>(o) % k::kPageSize % 200);
  }
  EXPECT_EQ(first_offsets.size(), 2u) << "objects of different slabs start at 0 and 64";
  for (void* o : objs) k::kmem_cache_free(c, o);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, order_keeps_waste_low) {
  struct {
    size_t size;
    unsigned order;
  } want[] = {{64, 0}, {96, 0}, {512, 0}, {1024, 1}, {2048, 2}, {4096, 3}, {8192, 3}, {40000, 4}};
  for (auto w : want) {
    KmemCache* c = k::kmem_cache_create("order", w.size, 0, 0, nullptr);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->order, w.order) << w.size;
    // Up to the costly order at most a quarter is wasted; beyond it the
    // smallest order that holds one object.
    if (w.order <= 3) {
      EXPECT_LE((c->slab_bytes() % c->size) * 4, c->slab_bytes()) << w.size;
    }
    EXPECT_TRUE(k::kmem_cache_destroy(c));
  }
}

int g_ctor_calls;
void ctor(void* p) {
  ++g_ctor_calls;
  *static_cast<uint64_t*>(p) = 0xfeedface;
}

TEST_F(Slab, ctor_runs_once_per_object_at_slab_creation) {
  g_ctor_calls = 0;
  KmemCache* c = k::kmem_cache_create("ctor", 48, 0, 0, ctor);
  ASSERT_NE(c, nullptr);
  auto* o = static_cast<uint64_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(*o, 0xfeedfaceu);
  EXPECT_EQ(g_ctor_calls, static_cast<int>(c->objects));
  k::kmem_cache_free(c, o);
  o = static_cast<uint64_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  EXPECT_EQ(*o, 0xfeedfaceu) << "free pointer must not clobber a constructed object";
  EXPECT_EQ(g_ctor_calls, static_cast<int>(c->objects));
  k::kmem_cache_free(c, o);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, zalloc_zeroes) {
  KmemCache* c = k::kmem_cache_create("z", 300, 0, 0, nullptr);
  auto* o = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  std::memset(o, 0xff, 300);
  k::kmem_cache_free(c, o);
  o = static_cast<uint8_t*>(k::kmem_cache_zalloc(c, GFP_KERNEL));
  for (int i = 0; i < 300; ++i) ASSERT_EQ(o[i], 0);
  k::kmem_cache_free(c, o);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, destroy_refuses_while_objects_are_live) {
  KmemCache* c = k::kmem_cache_create("busy", 128, 0, 0, nullptr);
  void* a = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* b = k::kmem_cache_alloc(c, GFP_KERNEL);
  EXPECT_FALSE(k::kmem_cache_destroy(c));
  const std::string log = host::log_text();
  EXPECT_NE(log.find("kmem_cache_destroy busy: Slab cache still has objects (2)"),
            std::string::npos)
      << log;
  EXPECT_EQ(count(log, "still allocated"), 2u);
  // The cache still works after the refusal.
  k::kmem_cache_free(c, a);
  void* d = k::kmem_cache_alloc(c, GFP_KERNEL);
  k::kmem_cache_free(c, d);
  k::kmem_cache_free(c, b);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, shrink_returns_empty_slabs_to_the_buddy_allocator) {
  KmemCache* c = k::kmem_cache_create("shrink", 256, 0, 0, nullptr);
  const uint64_t before = settle();
  const uint64_t base_slab_pages = k::slab_nr_pages();
  std::vector<void*> objs;
  for (int i = 0; i < 5000; ++i) objs.push_back(k::kmem_cache_alloc(c, GFP_KERNEL));
  EXPECT_GT(k::slab_nr_pages(), 5000u * 256 / k::kPageSize - 1);
  for (void* o : objs) k::kmem_cache_free(c, o);
  // Frees beyond the per-CPU array went back to the slabs, and all but
  // max_empty empty slabs to the buddy allocator at once; the objects still
  // cached in this CPU's array keep their slabs until a shrink.
  EXPECT_LE(k::slab_nr_pages() - base_slab_pages, 120u * 256 / k::kPageSize + 2 + 1);
  EXPECT_GT(k::slab_nr_pages(), base_slab_pages);
  EXPECT_GT(k::kmem_cache_shrink(c), 0u);
  EXPECT_EQ(k::kmem_cache_shrink(c), 0u);
  EXPECT_EQ(settle(), before);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, dma32_cache_takes_pages_below_4g) {
  boot(slabtest::straddle_machine(2));
  KmemCache* d = k::kmem_cache_create("dma32", 512, 0, k::SLAB_CACHE_DMA32, nullptr);
  KmemCache* n = k::kmem_cache_create("normal", 512, 0, 0, nullptr);
  std::vector<std::pair<KmemCache*, void*>> objs;
  for (int i = 0; i < 400; ++i) {
    void* x = k::kmem_cache_alloc(d, GFP_KERNEL);
    void* y = k::kmem_cache_alloc(n, GFP_KERNEL);
    EXPECT_LT(arch::virt_to_phys(x).value(), 4 * slabtest::GiB);
    EXPECT_EQ(k::virt_to_page(y)->zone_idx, k::ZONE_NORMAL);
    objs.insert(objs.end(), {{d, x}, {n, y}});
  }
  for (auto [s, o] : objs) k::kmem_cache_free(s, o);
  EXPECT_TRUE(k::kmem_cache_destroy(d));
  EXPECT_TRUE(k::kmem_cache_destroy(n));
}

TEST_F(Slab, alloc_node_places_objects_on_the_node) {
  boot(slabtest::two_nodes(2));
  ASSERT_EQ(k::nr_online_nodes(), 2);
  KmemCache* c = k::kmem_cache_create("nodes", 64, 0, 0, nullptr);
  std::vector<void*> objs;
  for (int i = 0; i < 500; ++i) {
    const int nid = i % 2;
    void* o = k::kmem_cache_alloc_node(c, GFP_KERNEL, nid);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(k::virt_to_page(o)->nid, nid);
    objs.push_back(o);
  }
  for (void* o : objs) k::kmem_cache_free(c, o);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

// ---- debug detection: exact report counts ----

class SlabDebug : public SlabFixture {
 protected:
  KmemCache* debug_cache(size_t size, k::slab_flags_t flags) {
    KmemCache* c = k::kmem_cache_create("test_debug", size, 0, flags, nullptr);
    EXPECT_NE(c, nullptr);
    return c;
  }
};

TEST_F(SlabDebug, write_past_the_end_is_one_right_redzone_report) {
  KmemCache* c = debug_cache(64, k::SLAB_RED_ZONE);
  auto* p = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  p[64] = 0x12;
  k::kmem_cache_free(c, p);
  EXPECT_EQ(reports(), 1u);
  const std::string log = host::log_text();
  EXPECT_NE(log.find("BUG test_debug: Right Redzone overwritten"), std::string::npos) << log;
  EXPECT_NE(log.find("(object offset 64) is 0x12 instead of 0xcc"), std::string::npos) << log;
  EXPECT_EQ(k::kmem_cache_validate(c), 0u) << "repaired, not reported twice";
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabDebug, write_before_the_start_is_one_left_redzone_report) {
  KmemCache* c = debug_cache(40, k::SLAB_RED_ZONE);
  auto* p = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  p[-3] = 0;
  EXPECT_EQ(k::kmem_cache_validate(c), 1u);
  EXPECT_NE(host::log_text().find("Left Redzone overwritten"), std::string::npos);
  k::kmem_cache_free(c, p);
  EXPECT_EQ(reports(), 1u);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabDebug, write_after_free_is_one_poison_report) {
  KmemCache* c = debug_cache(64, k::SLAB_POISON);
  auto* p = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  for (int i = 0; i < 64; ++i) EXPECT_EQ(p[i], k::POISON_INUSE);
  k::kmem_cache_free(c, p);
  EXPECT_EQ(p[0], k::POISON_FREE);
  EXPECT_EQ(p[63], k::POISON_END);
  p[10] = 0x77;
  p[11] = 0x77;
  EXPECT_EQ(k::kmem_cache_validate(c), 1u);
  const std::string log = host::log_text();
  EXPECT_NE(log.find("BUG test_debug: Poison overwritten"), std::string::npos) << log;
  EXPECT_NE(log.find("(object offset 10) is 0x77"), std::string::npos) << log;
  EXPECT_EQ(k::kmem_cache_validate(c), 0u);
  EXPECT_EQ(reports(), 1u);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabDebug, write_after_free_is_caught_when_the_object_is_reused) {
  KmemCache* c = debug_cache(32, k::SLAB_POISON | k::SLAB_RED_ZONE);
  auto* p = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  k::kmem_cache_free(c, p);
  p[31] = 0;  // the POISON_END byte
  auto* q = static_cast<uint8_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
  EXPECT_EQ(q, p) << "last freed is first reused";
  EXPECT_EQ(reports(), 1u);
  k::kmem_cache_free(c, q);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabDebug, double_free_is_one_report_and_changes_nothing) {
  KmemCache* c = debug_cache(64, k::SLAB_CONSISTENCY_CHECKS);
  void* a = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* b = k::kmem_cache_alloc(c, GFP_KERNEL);
  k::kmem_cache_free(c, a);
  const uint64_t live = live_objects();
  k::kmem_cache_free(c, a);
  EXPECT_EQ(reports(), 1u);
  EXPECT_NE(host::log_text().find("Object already free"), std::string::npos);
  EXPECT_EQ(live_objects(), live);
  // The freelist is intact: two allocations give two distinct objects.
  void* x = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* y = k::kmem_cache_alloc(c, GFP_KERNEL);
  EXPECT_NE(x, y);
  EXPECT_NE(y, b);
  for (void* o : {x, y, b}) k::kmem_cache_free(c, o);
  EXPECT_EQ(reports(), 1u);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, immediate_double_free_is_caught_on_the_fast_path) {
  KmemCache* c = k::kmem_cache_create("fast", 64, 0, 0, nullptr);
  void* a = k::kmem_cache_alloc(c, GFP_KERNEL);
  k::kmem_cache_free(c, a);
  k::kmem_cache_free(c, a);
  EXPECT_EQ(reports(), 1u);
  void* x = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* y = k::kmem_cache_alloc(c, GFP_KERNEL);
  EXPECT_NE(x, y);
  k::kmem_cache_free(c, x);
  k::kmem_cache_free(c, y);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(Slab, wrong_cache_non_slab_and_interior_frees_are_refused) {
  KmemCache* a = k::kmem_cache_create("cache_a", 64, 0, 0, nullptr);
  KmemCache* b = k::kmem_cache_create("cache_b", 64, 0, 0, nullptr);
  auto* o = static_cast<char*>(k::kmem_cache_alloc(a, GFP_KERNEL));
  const uint64_t live = live_objects();
  k::kmem_cache_free(b, o);
  EXPECT_EQ(reports(), 1u);
  EXPECT_NE(host::log_text().find("BUG cache_b: Wrong slab cache"), std::string::npos);
  EXPECT_NE(host::log_text().find("belongs to cache cache_a"), std::string::npos);
  k::kmem_cache_free(a, o + 8);
  EXPECT_EQ(reports(), 2u);
  int local = 0;
  k::kmem_cache_free(a, &local);
  EXPECT_EQ(reports(), 3u);
  void* page = k::__get_free_page(GFP_KERNEL);
  k::kmem_cache_free(a, page);
  EXPECT_EQ(reports(), 4u);
  EXPECT_EQ(count(host::log_text(), "Free of a non-slab pointer"), 2u);
  k::free_page(page);
  EXPECT_EQ(live_objects(), live);
  k::kmem_cache_free(a, o);
  EXPECT_TRUE(k::kmem_cache_destroy(a));
  EXPECT_TRUE(k::kmem_cache_destroy(b));
}

TEST_F(SlabDebug, boot_argument_selects_caches_and_flags) {
  boot(slabtest::small_machine(2), "quiet slab_debug=ZP,victim,kmalloc-64 loglevel=3");
  KmemCache* v = k::kmem_cache_create("victim", 64, 0, 0, nullptr);
  KmemCache* o = k::kmem_cache_create("other", 64, 0, 0, nullptr);
  EXPECT_EQ(k::kmem_cache_flags(v) & k::SLAB_DEBUG_FLAGS, k::SLAB_RED_ZONE | k::SLAB_POISON);
  EXPECT_EQ(k::kmem_cache_flags(o) & k::SLAB_DEBUG_FLAGS, 0u);
  // A kmalloc-64 object written past its end is caught at kfree.
  auto* p = static_cast<uint8_t*>(k::kmalloc(64, GFP_KERNEL));
  EXPECT_EQ(k::kmem_cache_flags(k::virt_to_cache(p)) & k::SLAB_POISON, k::SLAB_POISON);
  p[64] = 1;
  k::kfree(p);
  EXPECT_EQ(reports(), 1u);
  EXPECT_TRUE(k::kmem_cache_destroy(v));
  EXPECT_TRUE(k::kmem_cache_destroy(o));
}

TEST(SlabDebugParse, options) {
  host::g_log_echo = false;
  k::slab_debug_reset();
  EXPECT_TRUE(k::slab_parse_debug(""));
  EXPECT_EQ(k::slab_debug_flags_for("x"), k::SLAB_DEBUG_FLAGS);
  EXPECT_TRUE(k::slab_parse_debug("-"));
  EXPECT_EQ(k::slab_debug_flags_for("x"), 0u);
  EXPECT_TRUE(k::slab_parse_debug("fu;P,a,bb"));
  EXPECT_EQ(k::slab_debug_flags_for("x"), k::SLAB_CONSISTENCY_CHECKS);
  EXPECT_EQ(k::slab_debug_flags_for("bb"), k::SLAB_POISON);
  EXPECT_EQ(k::slab_debug_flags_for("b"), k::SLAB_CONSISTENCY_CHECKS);
  EXPECT_FALSE(k::slab_parse_debug("Q"));
  k::slab_debug_reset();
  k::slab_set_debug_flags(k::SLAB_RED_ZONE, "one");
  EXPECT_EQ(k::slab_debug_flags_for("one"), k::SLAB_RED_ZONE);
  EXPECT_EQ(k::slab_debug_flags_for("two"), 0u);
  k::slab_debug_reset();
  host::g_log_echo = true;
}

TEST_F(Slab, slabinfo_lists_caches_in_linux_format) {
  KmemCache* c = k::kmem_cache_create("info_cache", 512, 0, 0, nullptr);
  void* o = k::kmem_cache_alloc(c, GFP_KERNEL);
  host::log_clear();
  k::slabinfo_dump();
  const std::string log = host::log_text();
  EXPECT_NE(log.find("slabinfo - version: 2.1"), std::string::npos);
  EXPECT_NE(log.find("info_cache             1      8    512    8    1 : tunables   54   27    0"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("kmalloc-8k"), std::string::npos);
  EXPECT_NE(log.find("dma-kmalloc-96"), std::string::npos);
  k::kmem_cache_free(c, o);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

// ---- concurrency: threads play harts ----

TEST_F(Slab, all_cpus_alloc_and_free_concurrently_with_cross_cpu_frees) {
  constexpr unsigned kCpus = 4;
  KmemCache* c = k::kmem_cache_create("smp", 96, 0, 0, nullptr);
  std::mutex mu;
  std::vector<void*> handoff;  // objects freed by another "CPU"
  std::atomic<bool> bad{false};
  auto worker = [&](unsigned cpu) {
    arch::set_this_cpu(cpu);
    std::mt19937 rng(cpu + 7);
    std::vector<uint64_t*> mine;
    for (int i = 0; i < 40000; ++i) {
      const unsigned r = rng() % 10;
      if (r < 5 || mine.empty()) {
        auto* o = static_cast<uint64_t*>(k::kmem_cache_alloc(c, GFP_KERNEL));
        if (!o) {
          bad = true;
          return;
        }
        for (int w = 0; w < 12; ++w) o[w] = reinterpret_cast<uintptr_t>(o) ^ w;
        mine.push_back(o);
      } else if (r < 8) {
        uint64_t* o = mine.back();
        mine.pop_back();
        for (int w = 0; w < 12; ++w)
          if (o[w] != (reinterpret_cast<uintptr_t>(o) ^ w)) bad = true;
        k::kmem_cache_free(c, o);
      } else if (r < 9) {
        std::lock_guard<std::mutex> g(mu);
        handoff.push_back(mine.back());
        mine.pop_back();
      } else {
        void* o = nullptr;
        {
          std::lock_guard<std::mutex> g(mu);
          if (!handoff.empty()) {
            o = handoff.back();
            handoff.pop_back();
          }
        }
        if (o) k::kmem_cache_free(c, o);
      }
    }
    for (uint64_t* o : mine) k::kmem_cache_free(c, o);
  };
  std::vector<std::thread> ts;
  for (unsigned cpu = 0; cpu < kCpus; ++cpu) ts.emplace_back(worker, cpu);
  for (auto& t : ts) t.join();
  for (void* o : handoff) k::kmem_cache_free(c, o);
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(reports(), 0u);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

}  // namespace
