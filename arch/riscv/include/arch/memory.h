// Arch interface: the kernel's view of physical memory through the linear
// map (ARCHITECTURE.md, "phys_to_virt/virt_to_phys of the linear map").
//
// The layout is chosen at boot from the paging mode (docs/memory-layout.md),
// so these read runtime values rather than constants.
#pragma once

#include <cstdint>

#include "lib/types.h"

namespace arch {

struct Layout {
  unsigned levels;         // 3 = Sv39, 4 = Sv48
  uint64_t linear_base;    // virtual address of phys_ram_base
  uint64_t linear_size;    // bytes reserved for the linear map
  uint64_t phys_ram_base;  // lowest RAM address (maps to linear_base)
  uint64_t vmalloc_start;  // [vmalloc_start, vmalloc_end)
  uint64_t vmalloc_end;
  // [percpu_start, percpu_end): per-CPU units at a fixed stride
  // (arch/riscv/kernel/percpu_region.cpp), right above vmalloc.
  uint64_t percpu_start;
  uint64_t percpu_end;
  uint64_t vmemmap_start;  // struct page array window
  uint64_t vmemmap_size;
  uint64_t kernel_virt;  // link address of the kernel image
  uint64_t kernel_phys;  // where the loader put it
  uint64_t kernel_size;  // _end - _start
};

// Filled once by early boot (arch/riscv/boot/early.cpp), read-only after.
extern Layout g_layout;

inline void* phys_to_virt(k::PhysAddr pa) {
  return reinterpret_cast<void*>(pa.value() - g_layout.phys_ram_base + g_layout.linear_base);
}

// Accepts linear-map and kernel-image addresses.
inline k::PhysAddr virt_to_phys(const void* p) {
  const uint64_t va = reinterpret_cast<uint64_t>(p);
  if (va >= g_layout.kernel_virt)
    return k::PhysAddr(va - g_layout.kernel_virt + g_layout.kernel_phys);
  return k::PhysAddr(va - g_layout.linear_base + g_layout.phys_ram_base);
}

inline bool is_linear_addr(const void* p) {
  const uint64_t va = reinterpret_cast<uint64_t>(p);
  return va >= g_layout.linear_base && va - g_layout.linear_base < g_layout.linear_size;
}

}  // namespace arch
