// Kernel stacks in vmalloc space with guard pages (issue 4, item 9).
//
// A stack is a vmalloc area laid out as
//   [guard page][stack pages ...][guard page]
// so running off the bottom (stacks grow down) touches an unmapped page.
// The trap entry (arch/riscv/kernel/entry.S) notices a trap whose frame
// would not fit above CpuBlock::stack_base, moves to this hart's overflow
// stack (CpuBlock::overflow_sp) and reports "kernel stack overflow" with
// the CPU and faulting address before panicking; a fault inside the guard
// page below the current stack is reported the same way (trap.cpp).
//
// Every hart also has an interrupt stack of its own (CpuBlock::irq_stack_*):
// an interrupt that arrives on a task stack moves there (trap.cpp
// dispatch_interrupt, entry.S call_on_irq_stack), so handlers never eat
// into the interrupted task's stack; exceptions stay where they happened.
// The IRQ stack has the same guard pages and the same overflow report,
// which names the stack ("task stack" or "irq stack").
//
// Boot order: kernel_stacks_init() after vmalloc_init() and before
// interrupts are enabled or smp_boot_secondaries() runs (which takes the
// secondary harts' stacks from alloc_kernel_stack()). Then the boot hart
// leaves its .bss stack (no guard page) through continue_on_stack(), so
// every hart runs on a guarded stack from then on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k {

inline constexpr size_t kKernelStackSize = 16384;
// Enough for the report, a register dump and panic().
inline constexpr size_t kOverflowStackSize = 8192;
// Interrupt handlers, including cross-calls that run self-test code
// (Linux: IRQ_STACK_SIZE = THREAD_SIZE on riscv64).
inline constexpr size_t kIrqStackSize = 16384;

struct KernelStack {
  uint64_t base = 0;  // lowest mapped byte; the guard page lies below it
  uint64_t top = 0;   // initial sp (one past the highest byte)
  explicit operator bool() const { return base != 0; }
};

// A guarded stack of `size` bytes (page-rounded) with pages from `node`
// (-1: this CPU's node). Empty on failure (after a warning).
KernelStack alloc_kernel_stack(size_t size = kKernelStackSize, int node = -1);
void free_kernel_stack(KernelStack stack);

// Gives every CPU a guarded overflow stack (CpuBlock::overflow_sp) and a
// guarded interrupt stack (CpuBlock::irq_stack_*), both from its node.
// false (after pr_err) if vmalloc cannot provide them.
bool kernel_stacks_init();

// Moves the running context onto `stack` and continues in fn(arg), which
// must not return; the CPU's stack bounds follow. For the boot hart, whose
// first stack is in .bss with no guard page. Interrupts must be off.
[[noreturn]] void continue_on_stack(KernelStack stack, void (*fn)(void*), void* arg);

// Whether addr is in the guard page below a stack whose lowest byte is
// stack_base.
inline bool in_stack_guard(uint64_t addr, uint64_t stack_base) {
  return stack_base != 0 && addr < stack_base && stack_base - addr <= 4096;
}

}  // namespace k
