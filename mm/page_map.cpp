// Sparse section table and struct page arrays. See page_map.h.
#include "mm/page_map.h"

#include <new>

#include "kernel/printk.h"
#include "mm/memblock.h"
#include "mm/numa.h"
#include "mm/zone.h"

namespace k {

PageMap g_page_map;

namespace {
uint64_t region_start_pfn(const MemblockRegion& r) {
  return align_up(r.base.value(), kPageSize) >> kPageShift;
}
uint64_t region_end_pfn(const MemblockRegion& r) { return r.end().value() >> kPageShift; }
}  // namespace

bool page_map_init() {
  g_page_map = PageMap{};
  uint64_t min_pfn = ~uint64_t{0}, max_pfn = 0;
  memblock.for_each_mem_region([&](const MemblockRegion& r) {
    const uint64_t s = region_start_pfn(r), e = region_end_pfn(r);
    if (s >= e) return;
    if (s < min_pfn) min_pfn = s;
    if (e > max_pfn) max_pfn = e;
  });
  if (max_pfn == 0) {
    pr_err("page_map: no RAM page in memblock\n");
    return false;
  }
  const uint64_t first = min_pfn >> kPfnSectionShift;
  const uint64_t nr = ((max_pfn - 1) >> kPfnSectionShift) - first + 1;
  auto* sections = static_cast<MemSection*>(
      memblock.alloc(nr * sizeof(MemSection), alignof(MemSection), first_online_node()));
  if (!sections) {
    pr_err("page_map: cannot allocate the table of %llu sections\n",
           static_cast<unsigned long long>(nr));
    return false;
  }
  // Each section's covered pfn range; start_pfn > end_pfn marks "no RAM".
  for (uint64_t i = 0; i < nr; ++i) sections[i] = MemSection{0, ~uint64_t{0}, 0};
  memblock.for_each_mem_region([&](const MemblockRegion& r) {
    const uint64_t s = region_start_pfn(r), e = region_end_pfn(r);
    for (uint64_t pfn = s; pfn < e;) {
      const uint64_t sec = pfn >> kPfnSectionShift;
      const uint64_t sec_end = (sec + 1) << kPfnSectionShift;
      const uint64_t chunk_end = e < sec_end ? e : sec_end;
      MemSection& ms = sections[sec - first];
      if (pfn < ms.start_pfn) ms.start_pfn = pfn;
      if (chunk_end > ms.end_pfn) ms.end_pfn = chunk_end;
      pfn = chunk_end;
    }
  });
  // Allocate each present section's array on the node of its first RAM.
  uint64_t pages = 0;
  for (uint64_t i = 0; i < nr; ++i) {
    MemSection& ms = sections[i];
    if (ms.end_pfn == 0) {
      ms = MemSection{};
      continue;
    }
    int nid = first_online_node();
    memblock.for_each_mem_region([&](const MemblockRegion& r) {
      if (nid == first_online_node() && region_start_pfn(r) < ms.end_pfn &&
          region_end_pfn(r) > ms.start_pfn && r.nid >= 0)
        nid = r.nid;
    });
    const uint64_t n = ms.end_pfn - ms.start_pfn;
    // Not memblock.alloc: it would zero the array, and every byte of it
    // is written below anyway.
    auto pa = memblock.phys_alloc(n * sizeof(Page), 64, PhysAddr(0), PhysAddr(kPhysAddrMax), nid);
    auto* arr = pa.ok() ? static_cast<Page*>(arch::phys_to_virt(*pa)) : nullptr;
    if (!arr) {
      pr_err("page_map: cannot allocate %llu struct pages for section %llu\n",
             static_cast<unsigned long long>(n), static_cast<unsigned long long>(first + i));
      return false;
    }
    // Every page PG_reserved with its node, zone and section: eight
    // stores a page (mm/page.h), in runs of one zone type.
    const uint64_t word1 = page_word1(static_cast<uint32_t>(first + i));
    for (uint64_t pfn = ms.start_pfn; pfn < ms.end_pfn;) {
      uint64_t run_end = zone_type_end_pfn(pfn);
      if (run_end > ms.end_pfn) run_end = ms.end_pfn;
      const uint64_t word0 =
          page_word0(Page::bit(PageFlag::kReserved), pfn_zone_type(pfn), static_cast<uint8_t>(nid));
      Page* p = arr + (pfn - ms.start_pfn);
      for (Page* e = arr + (run_end - ms.start_pfn); p < e; ++p) page_init_words(p, word0, word1);
      pfn = run_end;
    }
    ms.map_base = reinterpret_cast<uintptr_t>(arr) - ms.start_pfn * sizeof(Page);
    pages += n;
  }
  g_page_map.sections = sections;
  g_page_map.first_section = first;
  g_page_map.nr_sections = nr;
  g_page_map.min_pfn = min_pfn;
  g_page_map.max_pfn = max_pfn;
  g_page_map.nr_pages = pages;
  // Per-page node and NOMAP marks from the regions themselves, where they
  // differ from what the section's array was initialised with (a region
  // on another node than the section's first RAM, or no-map).
  memblock.for_each_mem_region([](const MemblockRegion& r) {
    const auto rnid = static_cast<uint8_t>(r.nid >= 0 ? r.nid : 0);
    const bool nomap = r.flags & MEMBLOCK_NOMAP;
    for (uint64_t pfn = region_start_pfn(r); pfn < region_end_pfn(r);) {
      // One section's part of the region: one page array.
      uint64_t end = ((pfn >> kPfnSectionShift) + 1) << kPfnSectionShift;
      if (end > region_end_pfn(r)) end = region_end_pfn(r);
      Page* p = pfn_to_page(Pfn(pfn));
      if (p->nid != rnid || nomap) {
        for (Page* e = p + (end - pfn); p < e; ++p) {
          p->nid = rnid;
          if (nomap) p->set(PageFlag::kNoMap);
        }
      }
      pfn = end;
    }
  });
  pr_info("page_map: %llu struct pages (%lluK) in %llu sections of %lluM\n",
          static_cast<unsigned long long>(pages),
          static_cast<unsigned long long>(pages * sizeof(Page) >> 10),
          static_cast<unsigned long long>(nr),
          static_cast<unsigned long long>((uint64_t{1} << kSectionShift) >> 20));
  return true;
}

}  // namespace k
