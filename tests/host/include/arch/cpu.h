// Host fake of the arch CPU interface (arch/riscv/include/arch/cpu.h) so
// mm/ and lib/ compile natively under GoogleTest. Interrupt masking is a
// no-op; this_cpu() reads a thread_local that each test thread sets, which
// lets std::threads play the role of harts.
#pragma once

#include <cstdint>

namespace arch {

inline void cpu_relax() {}

inline unsigned long irq_save() { return 0; }
inline void irq_restore(unsigned long) {}
inline void irq_enable() {}
inline void irq_disable() {}
inline bool irqs_enabled() { return true; }

inline uint64_t read_instret() { return 0; }
inline uint64_t read_cycle() { return 0; }
inline uint64_t read_time() { return 0; }

unsigned this_cpu();
unsigned nr_cpus();

// Host-only: the calling thread's logical cpu id, and the cpu count that
// nr_cpus() reports (default 1).
void set_this_cpu(unsigned cpu);
void set_nr_cpus(unsigned n);

}  // namespace arch
