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
void free_pages_core(uint64_t pfn, unsigned order) {
  Page* head = pfn_to_page(Pfn(pfn));
  const uint64_t n = uint64_t{1} << order;
  for (uint64_t i = 0; i < n; ++i) {
    Page* p = head + i;
    p->clear(PageFlag::kReserved);
    p->refcount.store(0, std::memory_order_relaxed);
  }
  Zone& z = page_zone(head);
  z.managed_pages.fetch_add(n, std::memory_order_relaxed);
  free_one_page(z, head, pfn, order);
}

}  // namespace

uint64_t free_pfn_range_to_buddy(uint64_t start, uint64_t end) {
  uint64_t freed = 0;
  uint64_t pfn = start;
  while (pfn < end) {
    // Blocks never straddle a zone limit (the DMA limit may be unaligned).
    uint64_t lim = end;
    for (uint64_t b : {g_zone_limits.dma_end_pfn, g_zone_limits.dma32_end_pfn})
      if (b > pfn && b < lim) lim = b;
    // ... nor a node boundary (free_reserved_area() ranges may cross one).
    const uint8_t nid = pfn_to_page(Pfn(pfn))->nid;
    for (uint64_t q = pfn + 1; q < lim; ++q)
      if (pfn_to_page(Pfn(q))->nid != nid) {
        lim = q;
        break;
      }
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

bool mm_init_page_alloc(const BootMemInfo& info, const KernelSectionSizes& sizes, bool debug) {
  if (!numa_init(info) || !page_map_init() || !free_area_init(info.dma_zone_limit)) {
    pr_err("mm: page allocator initialisation failed\n");
    return false;
  }
  if (debug) memblock.dump();
  // memblock_free_all(): every free page of every node to the buddy lists.
  memblock.for_each_free_range([](PhysAddr s, PhysAddr e, int) {
    const uint64_t sp = align_up(s.value(), kPageSize) >> kPageShift;
    const uint64_t ep = e.value() >> kPageShift;
    if (sp < ep) free_pfn_range_to_buddy(sp, ep);
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
