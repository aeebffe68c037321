#include "kernel/oops_test.h"

#include <cstdint>

#include "arch/riscv/kernel/smp.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/shell.h"

namespace k {

[[gnu::noinline]] void oops_test_trigger() {
  pr_emerg("oops_test: storing through an unmapped pointer on purpose\n");
  // The first page is never mapped (Linux keeps it unmapped too). The
  // pointer goes through an asm barrier so the compiler cannot see it.
  uintptr_t bad = 0x18;
  asm volatile("" : "+r"(bad));
  *reinterpret_cast<volatile uint64_t*>(bad) = 0xdead;
  panic("oops_test: the store did not fault");
}

namespace {

volatile bool g_stop_recursing;

// Each level keeps 512 bytes live on the stack; the volatile flag (never
// set) keeps the recursion from being optimised into a loop.
[[gnu::noinline]] uint64_t oops_test_recurse(uint64_t depth) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  if (g_stop_recursing) return pad[0];
  return oops_test_recurse(depth + 1) + pad[0];
}

void overflow_in_irq(void*) { oops_test_recurse(0); }
void oops_in_irq(void*) { oops_test_trigger(); }

}  // namespace

void oops_test_trigger_in_irq() {
  arch::smp_call_self_irq(oops_in_irq, nullptr);
  panic("oops_test: the oops in the interrupt handler did not happen");
}

void oops_test_stack_overflow(bool on_irq_stack) {
  pr_emerg("oops_test: overflowing the %s stack on purpose\n", on_irq_stack ? "irq" : "task");
  if (on_irq_stack)
    arch::smp_call_self_irq(overflow_in_irq, nullptr);
  else
    oops_test_recurse(0);
  panic("oops_test: the stack overflow was not caught");
}

}  // namespace k

SHELL_COMMAND(oops, "trigger a deliberate kernel oops (tests crash reporting)") {
  k::oops_test_trigger();
}
