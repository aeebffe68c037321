// Harts: enumeration from the DT, logical CPU ids, per-CPU areas, bring-up
// through SBI HSM, and inter-processor calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include <arch/percpu.h>

#include "lib/fdt.h"

namespace arch {

// Read by head.S (offsets in arch/riscv/boot/asm_defs.h).
struct SecondaryBoot {
  uint64_t satp;
  uint64_t va_pa_offset;
  uint64_t sp;
  uint64_t tp;
};

struct CpuInfo {
  uint64_t hartid;
  int node;
  bool online;
  CpuBlock* block;
};

// Builds the logical CPU table from /cpus: every hart whose status is okay
// and which has an MMU; the boot hart is CPU 0, the rest follow in DT
// order. Harts without an MMU (JH7110 S7, FU540 E51) are skipped with a
// line saying so. Returns the number of CPUs.
unsigned smp_enumerate(const k::fdt::Fdt& fdt, uint64_t boot_hartid);
// Gives every CPU its per-CPU area (a copy of the .percpu template on its
// node) and points this hart's tp at CPU 0's copy.
void percpu_init();
// Starts every other CPU through SBI HSM and waits for each to come online.
void smp_boot_secondaries();

const CpuInfo& cpu_info(unsigned cpu);
int hart_to_cpu(uint64_t hartid);
bool cpu_online(unsigned cpu);
unsigned nr_online_cpus();

// Runs fn(arg) on `cpu` from its IPI handler and waits until it returned.
// Returns false if the CPU is offline or does not answer.
bool smp_call_on(unsigned cpu, void (*fn)(void*), void* arg);
// Runs fn(arg) on this CPU from its software-interrupt handler (a
// self-IPI through sip.SSIP) and waits for it. Interrupts must be enabled;
// false if they are not or the interrupt never came.
bool smp_call_self_irq(void (*fn)(void*), void* arg);
// Runs fn(arg) on every other online CPU; returns how many answered.
unsigned smp_call_others(void (*fn)(void*), void* arg);
// Runs fn(arg) on every online CPU at the same time (this one included,
// with interrupts on) and waits for all; returns how many CPUs ran it.
// For stress tests that need all harts hammering a structure together.
unsigned smp_call_all_concurrently(void (*fn)(void*), void* arg);
// Number of IPIs this CPU has handled (self-tests).
uint64_t cpu_ipi_count(unsigned cpu);

// Timer (timer.cpp).
void timer_set_timebase(uint64_t hz, bool sstc);
bool timer_uses_sstc();
void timer_start_this_hart();
uint64_t cpu_ticks(unsigned cpu);

}  // namespace arch
