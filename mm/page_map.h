// pfn <-> struct page, in O(1) across holes and nodes.
//
// Choice: a SPARSEMEM-like section table (Linux mm/sparse.c without
// vmemmap). Physical memory is cut into 128 MiB sections; one table entry
// per section between the lowest and the highest RAM address, allocated
// from memblock. Each section that contains RAM gets its own page array,
// allocated from memblock on the node that owns the section's RAM, covering
// only the pfns from its first to its last RAM page, so a 64 MiB bank costs
// 64 MiB/64 of page structs and a multi-terabyte hole costs one table entry
// per 128 MiB (24 bytes). Each struct page records its section number, so
// page_to_pfn is one table lookup and a subtraction as well.
//
// Why not a virtually-mapped page array (vmemmap): it needs page tables for
// the array before the page allocator exists, which ties this layer to the
// arch's page-table code; the section table works on the host unchanged.
//
// Pages for holes inside a section's covered range exist and stay
// PG_reserved forever.
#pragma once

#include <cstdint>

#include <arch/memory.h>

#include "lib/types.h"
#include "mm/page.h"

namespace k {

inline constexpr unsigned kSectionShift = 27;  // 128 MiB (Linux riscv SECTION_SIZE_BITS)
inline constexpr unsigned kPfnSectionShift = kSectionShift - kPageShift;
inline constexpr uint64_t kPagesPerSection = uint64_t{1} << kPfnSectionShift;

struct MemSection {
  // Address of the (virtual) struct page of pfn 0 if this section's array
  // extended down to it: page = map_base + pfn * sizeof(Page). 0 = absent.
  uintptr_t map_base = 0;
  uint64_t start_pfn = 0;  // first pfn with a struct page
  uint64_t end_pfn = 0;    // one past the last
};

struct PageMap {
  MemSection* sections = nullptr;  // [nr_sections], from memblock
  uint64_t first_section = 0;      // section number of sections[0]
  uint64_t nr_sections = 0;
  uint64_t min_pfn = 0;   // lowest RAM pfn
  uint64_t max_pfn = 0;   // one past the highest RAM pfn
  uint64_t nr_pages = 0;  // struct pages allocated
};
extern PageMap g_page_map;

// Allocates the section table and the page arrays from memblock (node-
// local), initialises every struct page as PG_reserved with its node and
// section. false (after a pr_err) if memblock cannot provide the memory.
bool page_map_init();

inline const MemSection* pfn_section(uint64_t pfn) {
  const uint64_t s = (pfn >> kPfnSectionShift) - g_page_map.first_section;
  if (s >= g_page_map.nr_sections) return nullptr;  // also catches pfn below first
  const MemSection* ms = &g_page_map.sections[s];
  return ms->map_base && pfn >= ms->start_pfn && pfn < ms->end_pfn ? ms : nullptr;
}

// Whether pfn has a struct page.
inline bool pfn_valid(Pfn pfn) { return pfn_section(pfn.value()) != nullptr; }

// nullptr for a pfn without a struct page.
inline Page* pfn_to_page(Pfn pfn) {
  const MemSection* ms = pfn_section(pfn.value());
  return ms ? reinterpret_cast<Page*>(ms->map_base + pfn.value() * sizeof(Page)) : nullptr;
}

inline Pfn page_to_pfn(const Page* page) {
  const MemSection& ms = g_page_map.sections[page->section - g_page_map.first_section];
  return Pfn((reinterpret_cast<uintptr_t>(page) - ms.map_base) / sizeof(Page));
}

inline PhysAddr page_to_phys(const Page* page) { return page_to_pfn(page).phys(); }
inline void* page_address(const Page* page) { return arch::phys_to_virt(page_to_phys(page)); }
inline Page* phys_to_page(PhysAddr pa) { return pfn_to_page(Pfn::of(pa)); }
inline Page* virt_to_page(const void* p) { return phys_to_page(arch::virt_to_phys(p)); }

}  // namespace k
