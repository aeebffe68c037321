// Saved call stacks (Linux include/linux/stacktrace.h): return addresses
// collected with the frame-pointer unwinder the oops path uses
// (arch/riscv/kernel/trap.cpp print_backtrace), printed later with the
// embedded symbol table. For reports that need a stack from an earlier
// moment (KFENCE's allocation and free sites).
#pragma once

#include <cstdint>

namespace k {

// Fills entries[0 .. n) with return addresses, innermost first: entry 0
// lies in the function calling this (just after the call), entry 1 in its
// caller, and so on; the `skip` innermost ones are left out. Returns n
// (<= max). Stops at the bounds of the current kernel stack.
unsigned stack_trace_save(uint64_t* entries, unsigned max, unsigned skip);
// The same from a trap frame's pc and frame pointer: entries[0] = pc.
unsigned stack_trace_save_from(uint64_t pc, uint64_t fp, uint64_t* entries, unsigned max);
// One line per entry, "  [<addr>] function+0xoff/0xsize" (the oops format
// tools/symbolize.py reads), at error level. Entry 0 is a pc when
// first_is_pc, otherwise every entry is a return address.
void stack_trace_print(const uint64_t* entries, unsigned n, bool first_is_pc);

}  // namespace k
