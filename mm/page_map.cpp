// Sparse section table and struct page arrays. See page_map.h.
#include "mm/page_map.h"

#include <new>

#include "kernel/printk.h"
#include "mm/memblock.h"
#include "mm/numa.h"

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
    auto* arr = static_cast<Page*>(memblock.alloc(n * sizeof(Page), 64, nid));
    if (!arr) {
      pr_err("page_map: cannot allocate %llu struct pages for section %llu\n",
             static_cast<unsigned long long>(n), static_cast<unsigned long long>(first + i));
      return false;
    }
    for (uint64_t j = 0; j < n; ++j) {
      Page* p = new (&arr[j]) Page();
      p->section = static_cast<uint32_t>(first + i);
      p->nid = static_cast<uint8_t>(nid);
      p->set(PageFlag::kReserved);
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
  // Per-page node and NOMAP marks from the regions themselves.
  memblock.for_each_mem_region([](const MemblockRegion& r) {
    for (uint64_t pfn = region_start_pfn(r); pfn < region_end_pfn(r); ++pfn) {
      Page* p = pfn_to_page(Pfn(pfn));
      p->nid = static_cast<uint8_t>(r.nid >= 0 ? r.nid : 0);
      if (r.flags & MEMBLOCK_NOMAP) p->set(PageFlag::kNoMap);
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
