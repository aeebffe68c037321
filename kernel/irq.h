// Device interrupt lines: registration and dispatch (Linux
// include/linux/interrupt.h request_irq/free_irq, reduced to one interrupt
// controller and one handler per line).
//
// Line numbers are the interrupt controller's (PLIC source ids on RISC-V,
// from a device's `interrupts` property). The controller driver installs
// itself with irq_set_chip() and calls generic_handle_irq() for every
// claimed line; handlers run in interrupt context on the hart the line is
// routed to, with interrupts off.
#pragma once

#include <cstdint>

#include "lib/result.h"

namespace k {

enum class IrqReturn { kNone, kHandled };
using irq_handler_t = IrqReturn (*)(unsigned irq, void* data);

// Linux's NR_IRQS class limit; the PLIC has at most 1023 sources.
inline constexpr unsigned kNrIrqs = 1024;

struct IrqChip {
  const char* name;
  unsigned nr_irqs;  // valid lines are 1 .. nr_irqs (0 = "no interrupt")
  // Unmasks `irq` and routes it to logical CPU `cpu`.
  void (*enable)(unsigned irq, unsigned cpu);
  void (*disable)(unsigned irq);
  // Lets this hart take external interrupts (threshold, sie.SEIE).
  void (*enable_this_hart)();
};

// Installs the system's interrupt controller (one per system here).
void irq_set_chip(const IrqChip* chip);
const IrqChip* irq_chip();

// Installs handler(irq, data) and unmasks the line, routed to the calling
// CPU. EINVAL for line 0, a line beyond the controller or a null handler;
// ENODEV without an interrupt controller; EBUSY if the line has a handler.
Result<void> request_irq(unsigned irq, irq_handler_t handler, void* data, const char* name);
// Masks the line and removes its handler; `data` must match the request.
void free_irq(unsigned irq, void* data);
// Moves a requested line to another online CPU. EINVAL otherwise.
Result<void> irq_set_affinity(unsigned irq, unsigned cpu);

// Called by the controller driver for each claimed line.
void generic_handle_irq(unsigned irq);

// Times the line was handled, and interrupts that arrived with no handler.
uint64_t irq_count(unsigned irq);
uint64_t irq_spurious_count();
const char* irq_name(unsigned irq);
// CPU a requested line is routed to.
unsigned irq_cpu(unsigned irq);

// Enables external interrupts on every other online hart through a
// cross-call; returns how many answered. Call after smp_boot_secondaries()
// (lines are routed to the CPU that requested them, so harts that never get
// this only miss interrupts nobody routed to them).
unsigned irq_smp_init();

}  // namespace k
