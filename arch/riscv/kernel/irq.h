// Interrupt and exception handlers the trap dispatcher calls.
#pragma once

#include "arch/riscv/kernel/trap.h"

namespace arch {

void timer_interrupt();     // timer.cpp
void ipi_interrupt();       // ipi.cpp
void external_interrupt();  // irqchip (PLIC) when present; spurious otherwise

// Exceptions other than fixups: page faults and system calls are routed to
// handlers registered by mm and the process layer. Returns true if handled.
using ExceptionHandler = bool (*)(TrapFrame&);
void set_page_fault_handler(ExceptionHandler h);
void set_syscall_handler(ExceptionHandler h);
// Any other exception taken in U-mode (illegal instruction, misaligned or
// access fault, breakpoint): the process layer turns it into a signal.
void set_user_exception_handler(ExceptionHandler h);
bool handle_exception(TrapFrame& tf);
// Runs before an interrupt returns to U-mode (the process layer acts on a
// pending SIGKILL there: a process looping in user code makes no syscall).
void set_user_irq_return_handler(ExceptionHandler h);
void user_irq_return(TrapFrame& tf);

// Registered by the interrupt controller driver.
using ExternalIrqHandler = void (*)();
void set_external_irq_handler(ExternalIrqHandler h);

}  // namespace arch
