// Arch interface: user-mode access to the instruction counter, for the
// process benchmarks (kernel/proc/proc_bench.cpp). Kernel only.
//
// U-mode reads of cycle/time/instret trap (illegal instruction) unless
// the matching bit of scounteren is set (privileged spec, "Counter-Enable
// Registers (mcounteren and scounteren)": CY bit 0, TM bit 1, IR bit 2;
// M-mode's mcounteren must allow it too, which OpenSBI does for S-mode).
// The kernel leaves scounteren at 0: nothing of ours needs the counters
// in user mode, and they time other processes and the kernel (a side
// channel, which is why Linux lets sysctl kernel.perf_user_access narrow
// the 0x7 its riscv PMU driver sets for uABI compatibility). The process
// benchmark program reads instret around the work it measures, so the
// benchmark sets IR on every hart for the run and puts the old value back.
#pragma once

#include <cstdint>

namespace arch {

inline constexpr uint64_t kScounterenIr = uint64_t{1} << 2;

// Sets scounteren to `value` on this hart; returns the previous value.
inline uint64_t swap_user_counter_access(uint64_t value) {
  uint64_t old;
  asm volatile("csrrw %0, scounteren, %1" : "=r"(old) : "r"(value) : "memory");
  return old;
}

}  // namespace arch
