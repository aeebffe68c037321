// Arch interface: MMIO mapping and access.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/types.h"

namespace arch {

// Maps [pa, pa+size) as device memory (Svpbmt IO when the hart has it) for
// the life of the kernel and returns the virtual address of `pa`; nullptr
// if it cannot. For boot-time devices (console, power-off) that never go
// away; works before the page allocator exists. Unaligned addresses and
// sizes are handled (the mapping covers whole pages).
void* ioremap_boot(k::PhysAddr pa, size_t size);
// PTE flags for device memory on this hart.
uint64_t io_pte_flags();

// Device accesses with the fences Linux's RISC-V readl/writel use
// (arch/riscv/include/asm/mmio.h): order against normal memory.
inline uint32_t readl(const volatile void* a) {
  uint32_t v = *static_cast<const volatile uint32_t*>(a);
  asm volatile("fence i,r" ::: "memory");
  return v;
}
inline void writel(uint32_t v, volatile void* a) {
  asm volatile("fence w,o" ::: "memory");
  *static_cast<volatile uint32_t*>(a) = v;
}
inline uint8_t readb(const volatile void* a) {
  uint8_t v = *static_cast<const volatile uint8_t*>(a);
  asm volatile("fence i,r" ::: "memory");
  return v;
}
inline void writeb(uint8_t v, volatile void* a) {
  asm volatile("fence w,o" ::: "memory");
  *static_cast<volatile uint8_t*>(a) = v;
}

}  // namespace arch
