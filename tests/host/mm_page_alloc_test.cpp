// Buddy allocator, zones, GFP zone selection, watermarks, lowmem_reserve,
// bad-free detection, compound pages, pcp lists, hand-over and dumps, over
// fake machines (mm_test_arena.h).
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "mm/internal.h"
#include "mm/mm_dump.h"
#include "mm/watermark.h"
#include "mm_test_arena.h"

namespace {

using k::GFP_ATOMIC;
using k::GFP_DMA;
using k::GFP_DMA32;
using k::GFP_KERNEL;
using k::Page;
using k::PhysAddr;
using k::PhysRange;
using mmtest::buddy_snapshot;
using mmtest::GiB;
using mmtest::Machine;
using mmtest::MiB;
using mmtest::phys_of;

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t k4G = 4 * GiB;

uint64_t zone_free(int nid, k::ZoneType z) {
  return k::zone_free_pages_total(k::NODE_DATA(nid)->node_zones[z]);
}
k::Zone& zone(int nid, k::ZoneType z) { return k::NODE_DATA(nid)->node_zones[z]; }

// A live block in the model.
struct Block {
  Page* page;
  unsigned order;
};

class PageAllocTest : public ::testing::Test {
 protected:
  void SetUp() override { host::log_clear(); }
};

// 128 MiB at 0x80000000: everything is DMA32.
std::unique_ptr<Machine> small_machine(unsigned cpus = 1) {
  auto m = std::make_unique<Machine>(kBase, kBase + 128 * MiB, cpus);
  m->info().add_memory(PhysRange{PhysAddr(kBase), 128 * MiB}, k::NUMA_NO_NODE);
  m->info().add_reserved(PhysRange{PhysAddr(kBase), 0x80000}, k::kResvFirmware,
                         "mmode_resv0@80000000");
  return m;
}

// 512 MiB straddling 4 GiB: 256 MiB DMA32 + 256 MiB Normal, optional DMA.
std::unique_ptr<Machine> straddle_machine(uint64_t dma_limit = 0, unsigned cpus = 1) {
  auto m = std::make_unique<Machine>(0xF0000000, 0x110000000, cpus);
  m->info().add_memory(PhysRange{PhysAddr(0xF0000000), 512 * MiB}, k::NUMA_NO_NODE);
  m->info().dma_zone_limit = dma_limit;
  return m;
}

TEST_F(PageAllocTest, boot_builds_one_dma32_zone_and_logs_like_linux) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  const std::string log = host::log_text();
  EXPECT_NE(log.find("Zone ranges:\n"), std::string::npos) << log;
  EXPECT_NE(log.find("  DMA      empty"), std::string::npos) << log;
  EXPECT_NE(log.find("  DMA32    [mem 0x0000000080000000-0x0000000087ffffff]"), std::string::npos)
      << log;
  EXPECT_NE(log.find("  Normal   empty"), std::string::npos) << log;
  EXPECT_NE(log.find("Early memory node ranges\n"), std::string::npos);
  EXPECT_NE(log.find("  node   0: [mem 0x0000000080000000-0x000000008007ffff] nomap"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("Memory: "), std::string::npos);
  EXPECT_NE(
      log.find("K available (1024K kernel code, 256K rwdata, 512K rodata, 128K init, 128K bss, "),
      std::string::npos)
      << log;
  k::Zone& z = zone(0, k::ZONE_DMA32);
  EXPECT_EQ(z.present_pages, 128 * MiB / k::kPageSize);
  EXPECT_EQ(z.spanned_pages, 128 * MiB / k::kPageSize);
  EXPECT_EQ(z.zone_start_pfn, kBase >> k::kPageShift);
  EXPECT_FALSE(zone(0, k::ZONE_DMA).populated());
  EXPECT_FALSE(zone(0, k::ZONE_NORMAL).populated());
  // Managed = free after boot = present minus reservations and mm's own data.
  EXPECT_EQ(k::nr_free_pages(), z.managed_pages.load());
  EXPECT_LT(z.managed_pages.load(), z.present_pages - 512);  // firmware + kernel at least
  EXPECT_GT(z.managed_pages.load(), z.present_pages * 9 / 10);
  // Watermarks: min_free_kbytes = sqrt(lowmem_kbytes * 16).
  const uint64_t kb = z.managed_pages.load() * 4;
  uint64_t expect_min_kb = static_cast<uint64_t>(std::sqrt(static_cast<double>(kb * 16)));
  EXPECT_NEAR(static_cast<double>(k::min_free_kbytes()), static_cast<double>(expect_min_kb), 1.0);
  EXPECT_EQ(z.wmark(k::WMARK_MIN), k::min_free_kbytes() / 4);
  EXPECT_EQ(z.wmark(k::WMARK_LOW), z.wmark(k::WMARK_MIN) * 5 / 4);
  EXPECT_EQ(z.wmark(k::WMARK_HIGH), z.wmark(k::WMARK_MIN) * 3 / 2);
  // Firmware pages are reserved + NOMAP; kernel pages reserved.
  Page* fw = k::pfn_to_page(k::Pfn(kBase >> k::kPageShift));
  ASSERT_NE(fw, nullptr);
  EXPECT_TRUE(fw->reserved());
  EXPECT_TRUE(fw->test(k::PageFlag::kNoMap));
  EXPECT_TRUE(k::pfn_to_page(k::Pfn((kBase + MiB) >> k::kPageShift))->reserved());
  // memblock is retired.
  EXPECT_EQ(k::memblock.alloc(4096, 4096), nullptr);
}

TEST_F(PageAllocTest, page_map_round_trips_every_pfn_and_rejects_holes) {
  auto m = std::make_unique<Machine>(kBase, kBase + 1 * GiB);
  // Two banks with a 640 MiB hole, the second not section aligned.
  m->info().add_memory(PhysRange{PhysAddr(kBase), 64 * MiB}, k::NUMA_NO_NODE);
  m->info().add_memory(PhysRange{PhysAddr(kBase + 704 * MiB + 12 * 4096), 100 * MiB},
                       k::NUMA_NO_NODE);
  ASSERT_TRUE(m->boot());
  auto check = [](uint64_t lo, uint64_t hi) {
    for (uint64_t pa = lo; pa < hi; pa += k::kPageSize) {
      const k::Pfn pfn = k::Pfn::of(PhysAddr(pa));
      Page* p = k::pfn_to_page(pfn);
      ASSERT_NE(p, nullptr) << std::hex << pa;
      ASSERT_EQ(k::page_to_pfn(p), pfn);
      ASSERT_EQ(k::page_address(p), arch::phys_to_virt(PhysAddr(pa)));
      ASSERT_EQ(k::virt_to_page(k::page_address(p)), p);
    }
  };
  check(kBase, kBase + 64 * MiB);
  check(kBase + 704 * MiB + 12 * 4096, kBase + 804 * MiB + 12 * 4096);
  EXPECT_FALSE(k::pfn_valid(k::Pfn::of(PhysAddr(kBase + 256 * MiB))));
  EXPECT_FALSE(k::pfn_valid(k::Pfn::of(PhysAddr(kBase - 4096))));
  EXPECT_FALSE(k::pfn_valid(k::Pfn::of(PhysAddr(kBase + 2 * GiB))));
  EXPECT_EQ(k::pfn_to_page(k::Pfn::of(PhysAddr(kBase + 300 * MiB))), nullptr);
  // Pages in the hole part of the second bank's first section exist but
  // are reserved and never handed out.
  EXPECT_EQ(zone(0, k::ZONE_DMA32).present_pages, 164 * MiB / k::kPageSize);
  EXPECT_EQ(zone(0, k::ZONE_DMA32).spanned_pages, (804 * MiB + 12 * 4096) / k::kPageSize);
  EXPECT_EQ(sizeof(Page), 64u);
}

TEST_F(PageAllocTest, every_order_allocates_aligned_blocks_and_frees_back) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  k::drain_all_pages(nullptr);
  const auto before = buddy_snapshot();
  const uint64_t free_before = k::nr_free_pages();
  std::vector<Block> blocks;
  for (unsigned o = 0; o <= k::MAX_ORDER; ++o) {
    Page* p = k::alloc_pages(GFP_KERNEL, o);
    ASSERT_NE(p, nullptr) << "order " << o;
    EXPECT_EQ(mmtest::pfn_of(p) % (uint64_t{1} << o), 0u);
    EXPECT_EQ(p->ref(), 1);
    EXPECT_EQ(p->order, o);
    blocks.push_back({p, o});
  }
  EXPECT_EQ(k::nr_free_pages() + (uint64_t{1} << (k::MAX_ORDER + 1)) - 1, free_before);
  EXPECT_EQ(k::alloc_pages(GFP_KERNEL | k::__GFP_NOWARN, k::MAX_ORDER + 1), nullptr);
  for (auto& b : blocks) k::__free_pages(b.page, b.order);
  k::drain_all_pages(nullptr);
  EXPECT_EQ(k::nr_free_pages(), free_before);
  EXPECT_EQ(buddy_snapshot(), before);
}

// The randomized model test: every block aligned, inside its zone, below
// the GFP limit, disjoint from every live block; in the end the free lists
// are exactly what they were.
void randomized_against_model(Machine& m, uint64_t seed, int steps) {
  (void)m;
  k::drain_all_pages(nullptr);
  const auto before = buddy_snapshot();
  const uint64_t free_before = k::nr_free_pages();
  const uint64_t reports_before = k::nr_bad_page_reports();
  std::mt19937_64 rng(seed);
  std::map<uint64_t, Block> live;  // start pfn -> block
  const bool has_dma = zone(0, k::ZONE_DMA).managed();
  const k::gfp_t gfps[] = {GFP_KERNEL, GFP_DMA32,
                           GFP_ATOMIC, GFP_KERNEL | k::__GFP_COMP,
                           GFP_DMA,    GFP_KERNEL | k::__GFP_ZERO};
  for (int step = 0; step < steps; ++step) {
    const bool do_alloc = live.empty() || rng() % 100 < 55;
    if (do_alloc) {
      unsigned order = rng() % 100 < 60 ? 0 : static_cast<unsigned>(rng() % (k::MAX_ORDER + 1));
      k::gfp_t gfp = gfps[rng() % 6] | k::__GFP_NOWARN;
      Page* p = k::alloc_pages(gfp, order);
      if (!p) continue;
      const uint64_t pfn = mmtest::pfn_of(p);
      const uint64_t n = uint64_t{1} << order;
      ASSERT_EQ(pfn % n, 0u) << "unaligned block";
      k::Zone& z = k::page_zone(p);
      ASSERT_TRUE(z.spans_pfn(pfn) && z.spans_pfn(pfn + n - 1)) << "block outside its zone";
      const uint64_t end_pa = (pfn + n) << k::kPageShift;
      if (gfp & k::__GFP_DMA) {
        // Without ZONE_DMA, GFP_DMA is served below 4 GiB.
        ASSERT_LE(end_pa, has_dma ? k::g_zone_limits.dma_end_pfn << k::kPageShift : k4G);
      }
      if (gfp & k::__GFP_DMA32) {
        ASSERT_LE(end_pa, k4G);
      }
      for (uint64_t i = 0; i < n; ++i) {
        Page* q = k::pfn_to_page(k::Pfn(pfn + i));
        ASSERT_FALSE(q->reserved());
        ASSERT_FALSE(q->buddy());
        ASSERT_EQ(q->zone_idx, z.idx);
      }
      auto next = live.lower_bound(pfn);
      if (next != live.end()) {
        ASSERT_GE(next->first, pfn + n) << "overlaps a live block";
      }
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + (uint64_t{1} << prev->second.order), pfn)
            << "overlaps a live block";
      }
      if (gfp & k::__GFP_ZERO) {
        auto* bytes = static_cast<const uint8_t*>(k::page_address(p));
        ASSERT_TRUE(
            std::all_of(bytes, bytes + (k::kPageSize << order), [](uint8_t b) { return b == 0; }));
      }
      // Stamp the first and last word.
      auto* w = static_cast<uint64_t*>(k::page_address(p));
      w[0] = pfn;
      w[(k::kPageSize << order) / 8 - 1] = ~pfn;
      live[pfn] = {p, order};
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      auto* w = static_cast<uint64_t*>(k::page_address(it->second.page));
      ASSERT_EQ(w[0], it->first) << "block content clobbered";
      ASSERT_EQ(w[(k::kPageSize << it->second.order) / 8 - 1], ~it->first);
      k::__free_pages(it->second.page, it->second.order);
      live.erase(it);
    }
  }
  for (auto& [pfn, b] : live) k::__free_pages(b.page, b.order);
  k::drain_all_pages(nullptr);
  EXPECT_EQ(k::nr_free_pages(), free_before);
  EXPECT_EQ(buddy_snapshot(), before);
  EXPECT_EQ(k::nr_bad_page_reports(), reports_before);
}

TEST_F(PageAllocTest, randomized_alloc_free_matches_model_small) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  host::g_log_echo = false;
  randomized_against_model(*m, 1, 20000);
  host::g_log_echo = true;
}

TEST_F(PageAllocTest, randomized_alloc_free_matches_model_straddling_4g_with_dma) {
  auto m = straddle_machine(0xF8000000);
  ASSERT_TRUE(m->boot());
  host::g_log_echo = false;
  randomized_against_model(*m, 2, 20000);
  host::g_log_echo = true;
}

TEST_F(PageAllocTest, zones_straddling_4g_and_gfp_zone_selection) {
  auto m = straddle_machine();
  ASSERT_TRUE(m->boot());
  EXPECT_FALSE(zone(0, k::ZONE_DMA).populated());
  EXPECT_EQ(zone(0, k::ZONE_DMA32).present_pages, 256 * MiB / k::kPageSize);
  EXPECT_EQ(zone(0, k::ZONE_NORMAL).present_pages, 256 * MiB / k::kPageSize);
  EXPECT_EQ(zone(0, k::ZONE_NORMAL).zone_start_pfn, k4G >> k::kPageShift);
  // GFP_KERNEL prefers Normal; DMA32 below 4 GiB; DMA falls back to DMA32
  // when ZONE_DMA is empty.
  Page* n = k::alloc_pages(GFP_KERNEL, 3);
  Page* d32 = k::alloc_pages(GFP_DMA32, 3);
  Page* d = k::alloc_pages(GFP_DMA, 3);
  ASSERT_TRUE(n && d32 && d);
  EXPECT_GE(phys_of(n), k4G);
  EXPECT_LT(phys_of(d32), k4G);
  EXPECT_LT(phys_of(d), k4G);
  EXPECT_EQ(n->zone_idx, k::ZONE_NORMAL);
  EXPECT_EQ(d32->zone_idx, k::ZONE_DMA32);
  k::__free_pages(n, 3);
  k::__free_pages(d32, 3);
  k::__free_pages(d, 3);

  // Exhaust DMA32 with GFP_DMA32: every page below 4 GiB, Normal untouched.
  const uint64_t normal_free = zone_free(0, k::ZONE_NORMAL);
  std::vector<Page*> pages;
  host::g_log_echo = false;
  while (Page* p = k::alloc_pages(GFP_DMA32 | k::__GFP_NOWARN, 0)) {
    ASSERT_LT(phys_of(p) + k::kPageSize, k4G + 1);
    pages.push_back(p);
  }
  host::g_log_echo = true;
  EXPECT_GT(pages.size(), 60000u);
  EXPECT_EQ(zone_free(0, k::ZONE_NORMAL), normal_free);
  // GFP_KERNEL still works (Normal), and GFP_DMA finds nothing.
  Page* still = k::alloc_pages(GFP_KERNEL, 0);
  ASSERT_NE(still, nullptr);
  EXPECT_GE(phys_of(still), k4G);
  EXPECT_EQ(k::alloc_pages(GFP_DMA | k::__GFP_NOWARN, 0), nullptr);
  k::__free_pages(still, 0);
  for (Page* p : pages) k::__free_pages(p, 0);
}

TEST_F(PageAllocTest, normal_requests_fall_back_to_dma32_only_above_lowmem_reserve) {
  auto m = straddle_machine();
  ASSERT_TRUE(m->boot());
  k::Zone& d32 = zone(0, k::ZONE_DMA32);
  k::Zone& nrm = zone(0, k::ZONE_NORMAL);
  // Linux ratio 256: DMA32 keeps Normal's managed/256 from Normal-capable requests.
  EXPECT_EQ(d32.lowmem_reserve[k::ZONE_NORMAL], nrm.managed_pages.load() / 256);
  EXPECT_EQ(d32.lowmem_reserve[k::ZONE_DMA32], 0u);
  EXPECT_EQ(nrm.lowmem_reserve[k::ZONE_NORMAL], 0u);
  host::g_log_echo = false;
  std::vector<Page*> pages;
  bool saw_dma32 = false;
  while (Page* p = k::alloc_pages(GFP_KERNEL | k::__GFP_NOWARN, 0)) {
    saw_dma32 |= phys_of(p) < k4G;
    pages.push_back(p);
  }
  EXPECT_TRUE(saw_dma32);  // fell back once Normal ran dry
  // GFP_KERNEL stopped at DMA32's min + lowmem_reserve[NORMAL].
  const int64_t stop = d32.nr_free();
  EXPECT_LE(stop,
            static_cast<int64_t>(d32.wmark(k::WMARK_MIN) + d32.lowmem_reserve[k::ZONE_NORMAL]) + 1);
  EXPECT_GT(stop, static_cast<int64_t>(d32.wmark(k::WMARK_MIN)));
  // A DMA32 request may go further, down to min.
  std::vector<Page*> more;
  while (Page* p = k::alloc_pages(GFP_DMA32 | k::__GFP_NOWARN, 0)) more.push_back(p);
  EXPECT_FALSE(more.empty());
  EXPECT_LE(d32.nr_free(), static_cast<int64_t>(d32.wmark(k::WMARK_MIN)) + 1);
  host::g_log_echo = true;
  for (Page* p : more) k::__free_pages(p, 0);
  for (Page* p : pages) k::__free_pages(p, 0);
}

TEST_F(PageAllocTest, dma_zone_size_follows_the_dma_limit) {
  // dma-ranges limit of 0xF8000000: ZONE_DMA is 128 MiB.
  auto m = straddle_machine(0xF8000000);
  ASSERT_TRUE(m->boot());
  EXPECT_EQ(zone(0, k::ZONE_DMA).present_pages, 128 * MiB / k::kPageSize);
  EXPECT_EQ(zone(0, k::ZONE_DMA32).present_pages, 128 * MiB / k::kPageSize);
  EXPECT_NE(host::log_text().find("  DMA      [mem 0x00000000f0000000-0x00000000f7ffffff]"),
            std::string::npos);
  host::g_log_echo = false;
  std::vector<Page*> pages;
  while (Page* p = k::alloc_pages(GFP_DMA | k::__GFP_NOWARN, 2)) {
    ASSERT_LE(phys_of(p) + 4 * k::kPageSize, 0xF8000000u);
    pages.push_back(p);
  }
  EXPECT_GT(pages.size(), 7000u);
  host::g_log_echo = true;
  for (Page* p : pages) k::__free_pages(p, 2);
}

TEST_F(PageAllocTest, unaligned_dma_limit_never_yields_a_block_across_it) {
  // Above the 2 MiB "kernel image" at the start of RAM, so pages on both
  // sides of the limit are free.
  auto m = straddle_machine(0xF0523000);
  ASSERT_TRUE(m->boot());
  EXPECT_EQ(zone(0, k::ZONE_DMA).present_pages, 0x523u);
  EXPECT_EQ(zone(0, k::ZONE_DMA32).zone_start_pfn, 0xF0523u);
  EXPECT_TRUE(k::pfn_to_page(k::Pfn(0xF0522))->buddy() || k::pfn_to_page(k::Pfn(0xF0520))->buddy());
  // Every free block lies in one zone.
  k::for_each_populated_zone([](k::Zone& z) {
    for (unsigned o = 0; o <= k::MAX_ORDER; ++o)
      z.free_area[o].free_list.for_each([&](k::ListNode* n) {
        Page* p = k::page_from_lru(n);
        const uint64_t pfn = mmtest::pfn_of(p);
        EXPECT_TRUE(z.spans_pfn(pfn) && z.spans_pfn(pfn + (uint64_t{1} << o) - 1));
        EXPECT_EQ(p->zone_idx, z.idx);
      });
  });
}

TEST_F(PageAllocTest, kernel_allocations_stop_at_min_while_atomic_digs_below) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  k::Zone& z = zone(0, k::ZONE_DMA32);
  const int64_t min = static_cast<int64_t>(z.wmark(k::WMARK_MIN));
  ASSERT_GT(min, 16);
  std::vector<Page*> pages;
  host::g_log_echo = false;
  while (Page* p = k::alloc_pages(GFP_KERNEL | k::__GFP_NOWARN, 0)) pages.push_back(p);
  k::drain_all_pages(nullptr);
  // GFP_KERNEL failed at the min watermark: between min and min + batch
  // (pages the pcp refill took) free pages remain.
  EXPECT_LE(z.nr_free(), min + 1);
  EXPECT_GE(z.nr_free(), min - 64);
  // GFP_ATOMIC (__GFP_HIGH, non-blocking) goes below min: to min * 3/8.
  std::vector<Page*> atomic;
  while (Page* p = k::alloc_pages(GFP_ATOMIC | k::__GFP_NOWARN, 0)) atomic.push_back(p);
  EXPECT_FALSE(atomic.empty());
  k::drain_all_pages(nullptr);
  EXPECT_LT(z.nr_free(), min);
  EXPECT_LE(z.nr_free(), min - min / 2 - (min - min / 2) / 4 + 1);
  // GFP_NOWAIT has no __GFP_HIGH: nothing more.
  EXPECT_EQ(k::alloc_pages(k::GFP_NOWAIT | k::__GFP_NOWARN, 0), nullptr);
  // __GFP_NOFAIL may take the rest of the reserves.
  Page* nofail = k::alloc_pages(GFP_KERNEL | k::__GFP_NOFAIL, 0);
  EXPECT_NE(nofail, nullptr);
  host::g_log_echo = true;
  // A failure without __GFP_NOWARN is reported with order, mode and zones.
  host::log_clear();
  EXPECT_EQ(k::alloc_pages(GFP_KERNEL, 1), nullptr);
  const std::string log = host::log_text();
  EXPECT_NE(log.find("page allocation failure: order:1, mode:"), std::string::npos) << log;
  EXPECT_NE(log.find("GFP_KERNEL"), std::string::npos) << log;
  EXPECT_NE(log.find("Node 0 DMA32 free:"), std::string::npos) << log;
  EXPECT_NE(log.find("lowmem_reserve[]:"), std::string::npos) << log;
  host::log_clear();
  EXPECT_EQ(k::alloc_pages(GFP_KERNEL | k::__GFP_NOWARN, 1), nullptr);
  EXPECT_EQ(host::log_text(), "");
  if (nofail) k::__free_pages(nofail, 0);
  for (Page* p : atomic) k::__free_pages(p, 0);
  for (Page* p : pages) k::__free_pages(p, 0);
  // Everything came back: allocations work again.
  Page* again = k::alloc_pages(GFP_KERNEL, k::MAX_ORDER);
  EXPECT_NE(again, nullptr);
  k::__free_pages(again, k::MAX_ORDER);
}

TEST_F(PageAllocTest, double_and_wrong_order_frees_are_reported_and_refused) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  Page* a = k::alloc_pages(GFP_KERNEL, 2);
  Page* b = k::alloc_pages(GFP_KERNEL, 0);
  Page* c = k::alloc_pages(GFP_KERNEL | k::__GFP_COMP, 3);
  ASSERT_TRUE(a && b && c);
  const uint64_t reports0 = k::nr_bad_page_reports();
  k::drain_all_pages(nullptr);
  auto snap = buddy_snapshot();
  uint64_t free0 = k::nr_free_pages();
  auto expect_refused = [&](const char* what, auto&& fn) {
    host::log_clear();
    const uint64_t r = k::nr_bad_page_reports();
    fn();
    k::drain_all_pages(nullptr);
    EXPECT_EQ(k::nr_bad_page_reports(), r + 1) << what;
    EXPECT_NE(host::log_text().find("BUG: Bad page state"), std::string::npos) << what;
    EXPECT_EQ(buddy_snapshot(), snap) << what;
    EXPECT_EQ(k::nr_free_pages(), free0) << what;
  };
  expect_refused("wrong order", [&] { k::__free_pages(a, 1); });
  expect_refused("wrong order (bigger)", [&] { k::__free_pages(a, 3); });
  expect_refused("middle page", [&] { k::__free_pages(a + 1, 0); });
  expect_refused("tail page", [&] { k::__free_pages(c + 3, 0); });
  expect_refused("compound wrong order", [&] { k::__free_pages(c, 2); });
  Page* kernel_page = k::pfn_to_page(k::Pfn((kBase + MiB) >> k::kPageShift));
  expect_refused("reserved page", [&] { k::__free_pages(kernel_page, 0); });
  EXPECT_NE(host::log_text().find("reserved"), std::string::npos);

  // Real frees, then the same frees again.
  k::__free_pages(a, 2);
  k::__free_pages(b, 0);
  k::__free_pages(c, 3);
  k::drain_all_pages(nullptr);
  snap = buddy_snapshot();
  free0 = k::nr_free_pages();
  expect_refused("double free order 2", [&] { k::__free_pages(a, 2); });
  expect_refused("double free compound", [&] { k::__free_pages(c, 3); });
  // Order 0 double free while the page sits on a pcp list.
  Page* d = k::alloc_pages(GFP_KERNEL, 0);
  k::__free_pages(d, 0);
  ASSERT_TRUE(d->pcp());
  k::drain_all_pages(nullptr);
  snap = buddy_snapshot();
  free0 = k::nr_free_pages();
  expect_refused("double free order 0", [&] { k::__free_pages(d, 0); });
  EXPECT_EQ(k::nr_bad_page_reports(), reports0 + 9);
  // free_pages() by address rejects unaligned pointers.
  Page* e = k::alloc_pages(GFP_KERNEL, 0);
  host::log_clear();
  k::free_pages(static_cast<char*>(k::page_address(e)) + 8, 0);
  EXPECT_NE(host::log_text().find("not page aligned"), std::string::npos);
  EXPECT_EQ(e->ref(), 1);
  k::free_pages(k::page_address(e), 0);
  EXPECT_EQ(e->ref(), 0);
}

TEST_F(PageAllocTest, compound_pages_and_refcounts) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  const uint64_t reports_before = k::nr_bad_page_reports();
  Page* c = k::alloc_pages(GFP_KERNEL | k::__GFP_COMP, 4);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->head());
  for (int i = 1; i < 16; ++i) {
    EXPECT_TRUE(c[i].tail());
    EXPECT_EQ(k::compound_head(&c[i]), c);
  }
  k::get_page(c + 5);  // a reference through a tail counts on the head
  EXPECT_EQ(c->ref(), 2);
  k::__free_pages(c, 4);
  EXPECT_TRUE(c->head());  // still referenced
  k::__free_pages(c, 4);
  EXPECT_FALSE(c->head());
  for (int i = 1; i < 16; ++i) EXPECT_FALSE(c[i].tail());
  EXPECT_EQ(k::nr_bad_page_reports(), reports_before);
}

TEST_F(PageAllocTest, get_free_pages_helpers_zero_and_map) {
  auto m = small_machine();
  ASSERT_TRUE(m->boot());
  auto* p = static_cast<uint8_t*>(k::__get_free_pages(GFP_KERNEL, 1));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xAB, 2 * k::kPageSize);
  k::free_pages(p, 1);
  k::drain_all_pages(nullptr);
  auto* z = static_cast<uint8_t*>(k::get_zeroed_page(GFP_KERNEL));
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(m->arena().contains(z, k::kPageSize));
  EXPECT_TRUE(std::all_of(z, z + k::kPageSize, [](uint8_t b) { return b == 0; }));
  k::free_page(z);
  k::free_pages(nullptr, 3);  // ignored
}

TEST_F(PageAllocTest, pcp_lists_cache_order0_pages_and_drain) {
  auto m = small_machine(2);
  ASSERT_TRUE(m->boot());
  k::Zone& z = zone(0, k::ZONE_DMA32);
  ASSERT_EQ(z.nr_pcp, 2u);
  const int batch = z.pcp[0].batch, high = z.pcp[0].high;
  EXPECT_GE(batch, 1);
  EXPECT_EQ(high, 6 * batch);
  const uint64_t total = k::nr_free_pages();
  const int64_t buddy = z.nr_free();
  Page* p = k::alloc_pages(GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  // The refill took a batch; one page went out.
  EXPECT_EQ(z.pcp[0].count, batch - 1);
  EXPECT_EQ(z.nr_free(), buddy - batch);
  EXPECT_EQ(k::nr_free_pages(), total - 1);
  k::__free_pages(p, 0);
  EXPECT_EQ(z.pcp[0].count, batch);
  EXPECT_EQ(z.pcp_count(), static_cast<uint64_t>(batch));
  // CPU 1 frees pages into its own list until it reaches high, then a
  // batch goes back.
  arch::set_this_cpu(1);
  std::vector<Page*> v;
  for (int i = 0; i < high + 2; ++i) v.push_back(k::alloc_pages(GFP_KERNEL, 0));
  for (Page* q : v) k::__free_pages(q, 0);
  EXPECT_LT(z.pcp[1].count, high);
  EXPECT_GT(z.pcp[1].count, 0);
  arch::set_this_cpu(0);
  EXPECT_EQ(k::nr_free_pages(), total);
  k::drain_local_pages(nullptr);
  EXPECT_EQ(z.pcp[0].count, 0);
  EXPECT_GT(z.pcp[1].count, 0);
  k::drain_all_pages(&z);
  EXPECT_EQ(z.pcp_count(), 0u);
  EXPECT_EQ(z.nr_free(), buddy);
}

TEST_F(PageAllocTest, failure_drains_other_cpus_lists_first) {
  auto m = small_machine(2);
  ASSERT_TRUE(m->boot());
  host::g_log_echo = false;
  std::vector<Page*> pages;
  while (Page* p = k::alloc_pages(GFP_KERNEL | k::__GFP_NOWARN, 0)) pages.push_back(p);
  // CPU 1 frees a few pages: they sit on its list, not in the buddy lists.
  arch::set_this_cpu(1);
  for (int i = 0; i < 4; ++i) {
    k::__free_pages(pages.back(), 0);
    pages.pop_back();
  }
  arch::set_this_cpu(0);
  k::Zone& z = zone(0, k::ZONE_DMA32);
  ASSERT_EQ(z.pcp[1].count, 4);
  // GFP_ATOMIC on CPU 0 succeeds (below min); an order-2 request needs
  // those pages merged back, which only the drain makes possible... at least
  // the drain empties CPU 1's list.
  Page* a = k::alloc_pages(GFP_KERNEL | k::__GFP_NOWARN, 0);
  (void)a;
  EXPECT_EQ(z.pcp[1].count, 0);
  if (a) k::__free_pages(a, 0);
  host::g_log_echo = true;
  for (Page* p : pages) k::__free_pages(p, 0);
}

TEST_F(PageAllocTest, free_initmem_gives_reserved_pages_to_buddy_once) {
  auto m = small_machine();
  m->info().kernel = PhysRange{PhysAddr(kBase + 2 * MiB), 4 * MiB};
  ASSERT_TRUE(m->boot());
  const uint64_t managed = k::totalram_pages();
  const uint64_t free = k::nr_free_pages();
  const PhysRange init{PhysAddr(kBase + 5 * MiB), 1 * MiB};
  EXPECT_EQ(k::free_initmem(init), 256u);
  EXPECT_EQ(k::totalram_pages(), managed + 256);
  EXPECT_EQ(k::nr_free_pages(), free + 256);
  EXPECT_NE(host::log_text().find("Freeing unused kernel image (initmem) memory: 1024K"),
            std::string::npos);
  EXPECT_FALSE(k::phys_to_page(init.base)->reserved());
  // Twice: refused, nothing changes.
  host::log_clear();
  EXPECT_EQ(k::free_initmem(init), 0u);
  EXPECT_NE(host::log_text().find("refused"), std::string::npos);
  EXPECT_EQ(k::nr_free_pages(), free + 256);
  // NOMAP firmware memory: refused.
  EXPECT_EQ(k::free_reserved_area(PhysRange{PhysAddr(kBase), 4096}, "firmware"), 0u);
}

TEST_F(PageAllocTest, dumps_have_the_proc_shape) {
  auto m = straddle_machine(0xF8000000, 2);
  ASSERT_TRUE(m->boot(/*debug=*/true));
  const std::string boot_log = host::log_text();
  EXPECT_NE(boot_log.find("System RAM"), std::string::npos);
  host::log_clear();
  k::show_buddyinfo();
  std::string log = host::log_text();
  EXPECT_NE(log.find("Node 0, zone      DMA "), std::string::npos) << log;
  EXPECT_NE(log.find("Node 0, zone    DMA32 "), std::string::npos) << log;
  EXPECT_NE(log.find("Node 0, zone   Normal "), std::string::npos) << log;
  host::log_clear();
  k::show_zoneinfo();
  log = host::log_text();
  for (const char* s : {"Node 0, zone   Normal\n", "  pages free     ", "        min      ",
                        "        managed  ", "        protection: (0, ", "  pagesets\n",
                        "    cpu: 1\n", "              batch: ", "  start_pfn:           "})
    EXPECT_NE(log.find(s), std::string::npos) << s << "\n" << log;
  host::log_clear();
  k::show_meminfo();
  log = host::log_text();
  EXPECT_NE(log.find("MemTotal:       "), std::string::npos) << log;
  EXPECT_NE(log.find("MemFree:        "), std::string::npos) << log;
  EXPECT_NE(log.find("MemAvailable:   "), std::string::npos) << log;
  char line[64];
  snprintf(line, sizeof line, "MemTotal:       %8llu kB",
           static_cast<unsigned long long>(k::totalram_pages() * 4));
  EXPECT_NE(log.find(line), std::string::npos) << log;
}

}  // namespace
