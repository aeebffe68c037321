// A controlled oops for testing crash reporting (`oops_test=1` on the
// command line, or the shell's `oops` command): a store through a bad
// pointer from a function with a known name, so the harness can check that
// the backtrace names it (tests/qemu/oops_backtrace_test.py).
#pragma once

namespace k {

[[noreturn]] void oops_test_trigger();

}  // namespace k
