// What early boot (MMU off) hands to the rest of the kernel.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/types.h"

// Link address of the kernel image (linker/kernel.ld KERNEL_VIRT).
inline constexpr uint64_t KERNEL_VIRT_BASE = 0xffffffff80000000;

namespace arch {

struct EarlyBootInfo {
  uint64_t boot_hartid;
  k::PhysAddr dtb_pa;
  size_t dtb_size;
  k::PhysAddr root_table;     // the kernel page table (swapper_pg_dir)
  unsigned levels;            // chosen: 3 = Sv39, 4 = Sv48
  unsigned dt_levels;         // cap from the boot hart's mmu-type
  unsigned requested_levels;  // after the mmu= command-line cap
  bool sv48_capable;          // satp probe results
  bool sv39_capable;
  size_t early_tables_used;  // boot page-table pages taken from BSS
};

extern EarlyBootInfo g_early_boot;

}  // namespace arch
