// On-target self-tests of the page allocator (TESTING.md layer 3): run on
// the boot hart with the other harts idle. Every test gives back what it
// took; the nr_free_pages counter checks that after each suite.
#include <arch/cpu.h>

#include "kernel/selftest.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/zone.h"

namespace k {

namespace {

constexpr uint64_t k4GiB = uint64_t{4} << 30;

// buddyinfo of every zone: [node][zone][order].
uint32_t g_snapshot[2][kMaxNumNodes][MAX_NR_ZONES][NR_PAGE_ORDERS];

void snapshot(int slot) {
  drain_all_pages(nullptr);
  for (int nid = 0; nid < kMaxNumNodes; ++nid)
    for (unsigned z = 0; z < MAX_NR_ZONES; ++z)
      for (unsigned o = 0; o < NR_PAGE_ORDERS; ++o) {
        PgData* pg = NODE_DATA(nid);
        g_snapshot[slot][nid][z][o] =
            pg ? static_cast<uint32_t>(pg->node_zones[z].free_area[o].nr_free) : 0;
      }
}

bool snapshots_equal() {
  for (int nid = 0; nid < kMaxNumNodes; ++nid)
    for (unsigned z = 0; z < MAX_NR_ZONES; ++z)
      for (unsigned o = 0; o < NR_PAGE_ORDERS; ++o)
        if (g_snapshot[0][nid][z][o] != g_snapshot[1][nid][z][o]) return false;
  return true;
}

// Allocates with `gfp` (largest blocks first) until nothing is left,
// chaining the blocks through page->lru. check(page, order) -> bool.
template <typename F>
uint64_t exhaust(gfp_t gfp, ListHead& blocks, F check, bool* all_ok) {
  uint64_t pages = 0;
  for (int order = MAX_ORDER; order >= 0; --order) {
    while (Page* p = alloc_pages(gfp | __GFP_NOWARN, static_cast<unsigned>(order))) {
      if (!check(p, static_cast<unsigned>(order))) *all_ok = false;
      blocks.push_back(&p->lru);
      pages += uint64_t{1} << order;
    }
  }
  return pages;
}

void free_all(ListHead& blocks) {
  while (ListNode* n = blocks.pop_front()) {
    Page* p = page_from_lru(n);
    __free_pages(p, p->order);
  }
}

uint64_t read_nr_free_pages() {
  drain_all_pages(nullptr);
  return nr_free_pages();
}

}  // namespace

SELFTEST_COUNTER(nr_free_pages, read_nr_free_pages);

SELFTEST(buddy, alloc_every_order) {
  const uint64_t before = read_nr_free_pages();
  Page* blocks[NR_PAGE_ORDERS] = {};
  for (unsigned o = 0; o <= MAX_ORDER; ++o) {
    blocks[o] = alloc_pages(GFP_KERNEL, o);
    KEXPECT(blocks[o] != nullptr);
    if (blocks[o]) KEXPECT_EQ(page_to_pfn(blocks[o]).value() % (uint64_t{1} << o), 0u);
  }
  for (unsigned o = 0; o <= MAX_ORDER; ++o)
    if (blocks[o]) __free_pages(blocks[o], o);
  KEXPECT_EQ(read_nr_free_pages(), before);
}

SELFTEST(buddy, exhaust_zone_then_free_restores_free_lists) {
  struct Case {
    gfp_t gfp;
    ZoneType highest;
  };
  const Case cases[] = {{GFP_DMA, ZONE_DMA}, {GFP_DMA32, ZONE_DMA32}, {GFP_KERNEL, ZONE_NORMAL}};
  for (const Case& c : cases) {
    // Without ZONE_DMA, GFP_DMA is served from DMA32 (mm/gfp.h).
    const ZoneType highest =
        c.highest == ZONE_DMA && !g_zone_limits.dma_end_pfn ? ZONE_DMA32 : c.highest;
    snapshot(0);
    const uint64_t before = nr_free_pages();
    ListHead blocks;
    bool ok = true;
    const uint64_t got = exhaust(
        c.gfp, blocks,
        [&](Page* p, unsigned order) {
          const uint64_t pfn = page_to_pfn(p).value();
          return pfn % (uint64_t{1} << order) == 0 && p->zone_idx <= highest;
        },
        &ok);
    KEXPECT(ok);
    t.diag("up to %s: %llu pages allocated until exhaustion", kZoneNames[highest],
           static_cast<unsigned long long>(got));
    free_all(blocks);
    snapshot(1);
    KEXPECT_EQ(nr_free_pages(), before);
    KEXPECT(snapshots_equal());
  }
}

SELFTEST(buddy, dma32_allocations_stay_below_4g) {
  bool above = false;
  for_each_populated_zone([&](Zone& z) { above |= z.idx == ZONE_NORMAL; });
  if (!above) {
    t.skip("no memory above 4 GiB");
    return;
  }
  // NORMAL exists on every node whose memory reaches above 4 GiB.
  for_each_online_node(nid) {
    PgData* pg = NODE_DATA(nid);
    if ((pg->node_start_pfn + pg->node_spanned_pages) << kPageShift > k4GiB)
      KEXPECT(pg->node_zones[ZONE_NORMAL].populated());
  }
  ListHead blocks;
  bool ok = true;
  exhaust(
      GFP_DMA32, blocks,
      [](Page* p, unsigned order) {
        return page_to_phys(p).value() + (kPageSize << order) <= k4GiB;
      },
      &ok);
  KEXPECT(ok);
  free_all(blocks);
}

SELFTEST(buddy, dma_allocations_stay_below_the_dma_limit) {
  if (!g_zone_limits.dma_end_pfn) {
    t.skip("no ZONE_DMA (no restrictive dma-ranges)");
    return;
  }
  uint64_t present = 0;
  for_each_online_node(nid) present += NODE_DATA(nid)->node_zones[ZONE_DMA].present_pages;
  t.diag("ZONE_DMA below %#llx: %llu pages present",
         static_cast<unsigned long long>(g_zone_limits.dma_end_pfn << kPageShift),
         static_cast<unsigned long long>(present));
  ListHead blocks;
  bool ok = true;
  exhaust(
      GFP_DMA, blocks,
      [](Page* p, unsigned order) {
        return page_to_pfn(p).value() + (uint64_t{1} << order) <= g_zone_limits.dma_end_pfn &&
               p->zone_idx == ZONE_DMA;
      },
      &ok);
  KEXPECT(ok);
  free_all(blocks);
}

SELFTEST(buddy, node_local_allocation_lands_on_the_harts_node) {
  const int nid = numa_node_id();
  Page* p = alloc_pages(GFP_KERNEL, 0);
  KASSERT(p != nullptr);
  KEXPECT_EQ(static_cast<int>(p->nid), nid);
  __free_pages(p, 0);
  for_each_online_node(n) {
    Page* q = alloc_pages_node(n, GFP_KERNEL | __GFP_THISNODE, 2);
    KEXPECT(q != nullptr);
    if (!q) continue;
    KEXPECT_EQ(static_cast<int>(q->nid), n);
    __free_pages(q, 2);
  }
}

SELFTEST(buddy, zeroed_and_compound_pages) {
  auto* z = static_cast<uint64_t*>(get_zeroed_page(GFP_KERNEL));
  KASSERT(z != nullptr);
  bool zero = true;
  for (uint64_t i = 0; i < kPageSize / 8; ++i) zero &= z[i] == 0;
  KEXPECT(zero);
  free_page(z);
  Page* c = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
  KASSERT(c != nullptr);
  KEXPECT(c->head());
  KEXPECT(compound_head(c + 7) == c);
  __free_pages(c, 3);
  KEXPECT(!c[7].tail());
}

// Benchmarks: KTAP diagnostics, not assertions (TESTING.md).
SELFTEST(buddy, bench_instructions_per_alloc_free) {
  constexpr int kRounds = 256;
  Page* warm = alloc_page(GFP_KERNEL);  // fills this hart's pcp list
  if (warm) __free_page(warm);
  uint64_t t0 = arch::read_instret();
  for (int i = 0; i < kRounds; ++i) {
    Page* p = alloc_page(GFP_KERNEL);
    if (p) __free_page(p);
  }
  const uint64_t pcp = (arch::read_instret() - t0) / kRounds;
  t0 = arch::read_instret();
  for (int i = 0; i < kRounds; ++i) {
    Page* p = alloc_pages(GFP_KERNEL, 3);
    if (p) __free_pages(p, 3);
  }
  const uint64_t o3 = (arch::read_instret() - t0) / kRounds;
  t.diag("instret per alloc_page+__free_page (pcp): %llu", static_cast<unsigned long long>(pcp));
  t.diag("instret per order-3 alloc+free: %llu", static_cast<unsigned long long>(o3));
}

}  // namespace k
