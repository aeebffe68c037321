// Hand-over from memblock to the page allocator (Linux mm_core_init():
// free_area_init, memblock_free_all, mem_init_print_info).
//
// Boot order:
//   1. memblock_init_from_bootmem(info)       (mm/boot_mem.h)
//   2. map every memblock memory range that is not NOMAP in the linear map,
//      then memblock.set_current_limit(end of mapped RAM) and
//      memblock.allow_resize()
//   3. mm_init_page_alloc(info, sizes)
//   4. numa_set_cpu_node(cpu, info.hart_node(hartid)) for each logical CPU
//   5. later, once init code has run: free_initmem(init section range)
#pragma once

#include <cstdint>

#include "lib/types.h"
#include "mm/boot_mem.h"

namespace k {

// Byte sizes of the kernel image sections, for the "Memory:" line.
struct KernelSectionSizes {
  uint64_t text = 0;
  uint64_t rwdata = 0;
  uint64_t rodata = 0;
  uint64_t init = 0;
  uint64_t bss = 0;
};

// Builds nodes, the page map, zones, pcp lists and zonelists from
// memblock; frees every free memblock range to the buddy allocator in
// max-order blocks; computes watermarks; prints the Linux-style log and the
// "Memory: ..." line (plus memblock/buddyinfo/zoneinfo/meminfo dumps when
// debug, i.e. mm.debug on the command line). memblock must not be used for
// allocations afterwards. false after a pr_err when memblock cannot provide
// the page-map or node structures.
bool mm_init_page_alloc(const BootMemInfo& info, const KernelSectionSizes& sizes,
                        bool debug = false);

// Linux free_reserved_area(): gives a PG_reserved, mapped range (e.g. the
// kernel's init sections) to the buddy allocator. Pages outside RAM, not
// reserved or NOMAP make it refuse the whole range with a pr_err. Returns
// the number of pages freed.
uint64_t free_reserved_area(PhysRange range, const char* what);
inline uint64_t free_initmem(PhysRange init_range) {
  return free_reserved_area(init_range, "unused kernel image (initmem)");
}

}  // namespace k
