// Arch interface for the scheduler and the process layer: the kernel
// context a switch keeps (psABI callee-saved registers), user FP state,
// building the first user frame, and the questions the tick asks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/riscv/kernel/trap.h"

namespace arch {

struct SwitchContext {
  uint64_t ra;
  uint64_t sp;
  uint64_t s[12];
};
static_assert(sizeof(SwitchContext) == 14 * 8, "arch/riscv/kernel/switch.S layout");

struct FpuState {
  uint64_t f[32];
  uint64_t fcsr;
};
static_assert(offsetof(FpuState, fcsr) == 256, "arch/riscv/kernel/switch.S layout");

// sstatus bits for a fresh user frame (Privileged spec 4.1.1): SPP = 0
// (user), SPIE = 1 (interrupts on after sret), FS = Initial (user code
// uses the F/D registers; glibc's lp64d ABI needs them).
inline constexpr uint64_t kUserSstatus = (uint64_t{1} << 5) | (uint64_t{1} << 13);
inline constexpr uint64_t kSstatusFsMask = uint64_t{3} << 13;

// A new task's first switch lands in ret_from_fork, which calls fn(arg)
// after sched_tail(); a user task's fn returns the TrapFrame to enter.
void prepare_new_context(SwitchContext* ctx, uint64_t stack_top, void* (*fn)(void*), void* arg);

void fpu_save(FpuState* s);
void fpu_restore(const FpuState* s);

// Whether the trap being handled interrupted user mode (sstatus.SPP = 0;
// nested kernel traps only ever set it, so "user" is never a false yes).
inline bool interrupted_user_mode() {
  uint64_t s;
  asm volatile("csrr %0, sstatus" : "=r"(s));
  return (s & (uint64_t{1} << 8)) == 0;
}

inline void wait_for_interrupt() { asm volatile("wfi" ::: "memory"); }

}  // namespace arch

extern "C" void __switch_to(arch::SwitchContext* prev, arch::SwitchContext* next);
extern "C" void sched_tail();
