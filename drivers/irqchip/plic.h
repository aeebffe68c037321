// SiFive Platform-Level Interrupt Controller ("riscv,plic0",
// "sifive,plic-1.0.0"; RISC-V PLIC Specification 1.0.0).
//
// One context per hart privilege mode; this driver uses each hart's
// S-mode context, found through `interrupts-extended` (the entry whose
// interrupt is 9, supervisor external, Privileged spec 4.1.3). Lines are
// enabled in the context of the CPU they are routed to, with priority 1
// and every S-mode context's threshold 0.
#pragma once

#include <cstdint>

namespace k {

// Number of sources the probed PLIC has (riscv,ndev); 0 when none probed.
unsigned plic_nr_sources();
// Context index of a logical CPU's S-mode context, -1 if it has none.
int plic_context_of_cpu(unsigned cpu);
// Raw register reads for self-tests.
uint32_t plic_priority(unsigned irq);
bool plic_enabled_on(unsigned irq, unsigned cpu);
uint32_t plic_threshold(unsigned cpu);

}  // namespace k
