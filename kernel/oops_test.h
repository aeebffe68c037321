// A controlled oops for testing crash reporting (`oops_test=1` on the
// command line, or the shell's `oops` command): a store through a bad
// pointer from a function with a known name, so the harness can check that
// the backtrace names it (tests/qemu/oops_backtrace_test.py).
#pragma once

namespace k {

[[noreturn]] void oops_test_trigger();
// The same oops from inside an interrupt handler (`oops_test=irq`): the
// backtrace must cross from the IRQ stack to the interrupted stack.
[[noreturn]] void oops_test_trigger_in_irq();

// A controlled kernel stack overflow (`oops_test=stack_overflow`, or
// `oops_test=irq_stack_overflow` for one inside an interrupt handler, on
// the hart's IRQ stack): unbounded recursion until the guard page, which
// must end in the "kernel stack overflow ..." report naming the stack
// (tests/qemu/stack_overflow_test.py). Needs interrupts on for the IRQ
// case.
[[noreturn]] void oops_test_stack_overflow(bool on_irq_stack);

}  // namespace k
