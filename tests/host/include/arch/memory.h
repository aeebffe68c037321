// Host fake of the arch linear-map interface (arch/riscv/include/arch/
// memory.h). Tests point g_layout.linear_base at memory they own and set
// g_layout.phys_ram_base to the physical address that memory stands for, so
// phys_to_virt() lands inside the test's arena.
#pragma once

#include <cstdint>

#include "lib/types.h"

namespace arch {

struct Layout {
  unsigned levels;
  uint64_t linear_base;
  uint64_t linear_size;
  uint64_t phys_ram_base;
  uint64_t vmalloc_start;
  uint64_t vmalloc_end;
  uint64_t percpu_start;
  uint64_t percpu_end;
  uint64_t vmemmap_start;
  uint64_t vmemmap_size;
  uint64_t kernel_virt;
  uint64_t kernel_phys;
  uint64_t kernel_size;
};

// Defined in tests/host/fake_kernel.cpp.
extern Layout g_layout;

inline void* phys_to_virt(k::PhysAddr pa) {
  return reinterpret_cast<void*>(pa.value() - g_layout.phys_ram_base + g_layout.linear_base);
}

// No kernel image on the host: every pointer is treated as linear-map.
inline k::PhysAddr virt_to_phys(const void* p) {
  const uint64_t va = reinterpret_cast<uint64_t>(p);
  return k::PhysAddr(va - g_layout.linear_base + g_layout.phys_ram_base);
}

inline bool is_linear_addr(const void* p) {
  const uint64_t va = reinterpret_cast<uint64_t>(p);
  return va >= g_layout.linear_base && va - g_layout.linear_base < g_layout.linear_size;
}

}  // namespace arch
