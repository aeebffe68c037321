// memblock -> buddy hand-over. See mm_init.h.
#include "mm/mm_init.h"

#include <initializer_list>

#include "kernel/printk.h"
#include "mm/internal.h"
#include "mm/memblock.h"
#include "mm/mm_dump.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace k {

namespace {

unsigned long long kib(uint64_t bytes) { return static_cast<unsigned long long>(bytes >> 10); }

// Linux __free_pages_core(): a PG_reserved block becomes managed and free.
// Every page of the block is rewritten whole-word (flags 0 with its zone
// and node, refcount 0, its section): two stores a page. A block never
// crosses a section array, zone or node, so one pair of words fits all.
void free_pages_core(uint64_t pfn, unsigned order) {
  Page* head = pfn_to_page(Pfn(pfn));
  const uint64_t n = uint64_t{1} << order;
  const uint64_t word0 = page_word0(0, head->zone_idx, head->nid);
  const uint64_t word1 = page_word1(head->section);
  for (Page *p = head, *e = head + n; p < e; ++p) page_set_words01(p, word0, word1);
  Zone& z = page_zone(head);
  z.managed_pages.fetch_add(n, std::memory_order_relaxed);
  free_one_page(z, head, pfn, order);
}

// One past the last pfn from `pfn` on (below `end`) on the same node.
// Pages of one section array are adjacent structs: walk them directly.
uint64_t same_node_end(uint64_t pfn, uint64_t end) {
  const Page* p = pfn_to_page(Pfn(pfn));
  const uint8_t nid = p->nid;
  for (uint64_t q = pfn + 1; q < end; ++q) {
    // Crossing into another section array: look the page up again.
    p = (q & (kPagesPerSection - 1)) ? p + 1 : pfn_to_page(Pfn(q));
    if (p->nid != nid) return q;
  }
  return end;
}

// Frees [start, end) in the largest aligned blocks that stay inside one
// zone; single_node: the caller knows the range is on one node.
uint64_t free_range(uint64_t start, uint64_t end, bool single_node) {
  uint64_t freed = 0;
  uint64_t pfn = start;
  while (pfn < end) {
    // Blocks never straddle a zone limit (the DMA limit may be unaligned).
    uint64_t lim = end;
    for (uint64_t b : {g_zone_limits.dma_end_pfn, g_zone_limits.dma32_end_pfn})
      if (b > pfn && b < lim) lim = b;
    // ... nor a node boundary (free_reserved_area() ranges may cross one).
    if (!single_node) lim = same_node_end(pfn, lim);
    while (pfn < lim) {
      unsigned order = pfn ? static_cast<unsigned>(__builtin_ctzll(pfn)) : MAX_ORDER;
      if (order > MAX_ORDER) order = MAX_ORDER;
      while (pfn + (uint64_t{1} << order) > lim) --order;
      free_pages_core(pfn, order);
      pfn += uint64_t{1} << order;
      freed += uint64_t{1} << order;
    }
  }
  return freed;
}

}  // namespace

uint64_t free_pfn_range_to_buddy(uint64_t start, uint64_t end) {
  return free_range(start, end, false);
}

bool mm_init_page_alloc(const BootMemInfo& info, const KernelSectionSizes& sizes, bool debug) {
  zone_limits_init(info.dma_zone_limit);  // page_map_init stores each page's zone
  if (!numa_init(info) || !page_map_init() || !free_area_init(info.dma_zone_limit)) {
    pr_err("mm: page allocator initialisation failed\n");
    return false;
  }
  if (debug) memblock.dump();
  // memblock_free_all(): every free page of every node to the buddy lists.
  // Each free range lies in one memblock region, so on one node.
  memblock.for_each_free_range([](PhysAddr s, PhysAddr e, int) {
    const uint64_t sp = align_up(s.value(), kPageSize) >> kPageShift;
    const uint64_t ep = e.value() >> kPageShift;
    if (sp < ep) free_range(sp, ep, true);
  });
  memblock.retire();
  zone_pcp_update_all();
  init_per_zone_wmark_min();

  uint64_t physpages = 0;
  for_each_online_node(nid) physpages += NODE_DATA(nid)->node_present_pages;
  const uint64_t avail = nr_free_pages();
  const uint64_t managed = totalram_pages();
  pr_info(
      "Memory: %lluK/%lluK available (%lluK kernel code, %lluK rwdata, %lluK rodata, %lluK "
      "init, %lluK bss, %lluK reserved)\n",
      kib(avail * kPageSize), kib(physpages * kPageSize), kib(sizes.text), kib(sizes.rwdata),
      kib(sizes.rodata), kib(sizes.init), kib(sizes.bss), kib((physpages - managed) * kPageSize));
  if (debug) {
    show_buddyinfo();
    show_zoneinfo();
    show_meminfo();
  }
  return true;
}

uint64_t free_reserved_area(PhysRange range, const char* what) {
  const uint64_t sp = align_up(range.base.value(), kPageSize) >> kPageShift;
  const uint64_t ep = range.end().value() >> kPageShift;
  for (uint64_t pfn = sp; pfn < ep; ++pfn) {
    const Page* p = pfn_to_page(Pfn(pfn));
    if (!p || !p->reserved() || p->test(PageFlag::kNoMap) || !page_zone(p).populated()) {
      pr_err("Freeing %s memory: refused, pfn %#llx is %s\n", what,
             static_cast<unsigned long long>(pfn),
             !p               ? "not RAM"
             : !p->reserved() ? "not reserved (already free or in use)"
                              : "not mapped (no-map)");
      return 0;
    }
  }
  const uint64_t freed = sp < ep ? free_pfn_range_to_buddy(sp, ep) : 0;
  pr_info("Freeing %s memory: %lluK\n", what, kib(freed * kPageSize));
  return freed;
}

}  // namespace k
