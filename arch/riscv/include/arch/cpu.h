// Arch interface: the CPU operations generic code may use (ARCHITECTURE.md,
// "Arch <-> mm"). The host build replaces this header with a fake
// (tests/host/include/arch/cpu.h) so mm/ and lib/ compile natively.
#pragma once

#include <cstdint>

namespace arch {

inline void cpu_relax() { asm volatile("nop" ::: "memory"); }

// Disables supervisor interrupts on this hart; returns the previous state.
inline unsigned long irq_save() {
  unsigned long flags;
  asm volatile("csrrci %0, sstatus, 2" : "=r"(flags)::"memory");  // SIE = bit 1
  return flags & 2;
}
inline void irq_restore(unsigned long flags) {
  asm volatile("csrs sstatus, %0" ::"r"(flags & 2) : "memory");
}
inline void irq_enable() { asm volatile("csrsi sstatus, 2" ::: "memory"); }
inline void irq_disable() { asm volatile("csrci sstatus, 2" ::: "memory"); }
inline bool irqs_enabled() {
  unsigned long s;
  asm volatile("csrr %0, sstatus" : "=r"(s));
  return s & 2;
}

// Guest instruction and cycle counters (Zicntr). Under QEMU -icount they
// count deterministically; used by benchmarks only.
inline uint64_t read_instret() {
  uint64_t v;
  asm volatile("rdinstret %0" : "=r"(v));
  return v;
}
inline uint64_t read_cycle() {
  uint64_t v;
  asm volatile("rdcycle %0" : "=r"(v));
  return v;
}
inline uint64_t read_time() {
  uint64_t v;
  asm volatile("rdtime %0" : "=r"(v));
  return v;
}

// Logical id of this hart (dense, 0..nr_cpus-1): the `cpu` word (offset
// 24, static_asserted in smp.cpp) of the per-CPU block that `tp` points
// at (arch/percpu.h); 0 before percpu_init. Inline: the allocators' per-CPU
// fast paths read it on every call.
inline unsigned this_cpu() {
  const uint64_t* block;
  asm volatile("mv %0, tp" : "=r"(block));
  return block ? static_cast<unsigned>(block[3]) : 0;
}
unsigned nr_cpus();

}  // namespace arch
