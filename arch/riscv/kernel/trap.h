// Trap frame and the trap dispatcher (Privileged spec 4.1.1 sstatus,
// 4.1.8 scause, 4.1.9 stval).
#pragma once

#include <cstdint>

namespace arch {

struct TrapFrame {
  uint64_t regs[32];  // x0 (unused) .. x31; regs[2] = sp, regs[4] = tp at trap time
  uint64_t sepc;
  uint64_t sstatus;
  uint64_t scause;
  uint64_t stval;

  uint64_t ra() const { return regs[1]; }
  uint64_t sp() const { return regs[2]; }
  uint64_t fp() const { return regs[8]; }
  bool from_user() const { return (sstatus & (1u << 8)) == 0; }  // SPP
};

// scause values (Privileged spec table 4.2).
inline constexpr uint64_t kInterruptBit = uint64_t{1} << 63;
enum Cause : uint64_t {
  kIrqSoftware = 1,
  kIrqTimer = 5,
  kIrqExternal = 9,
  kInstrMisaligned = 0,
  kInstrAccessFault = 1,
  kIllegalInstr = 2,
  kBreakpoint = 3,
  kLoadMisaligned = 4,
  kLoadAccessFault = 5,
  kStoreMisaligned = 6,
  kStoreAccessFault = 7,
  kEcallU = 8,
  kEcallS = 9,
  kInstrPageFault = 12,
  kLoadPageFault = 13,
  kStorePageFault = 15,
};

const char* cause_name(uint64_t scause);
void trap_init_this_hart();
// Prints cause, stval, sepc, the register file and a frame-pointer
// backtrace (the "Unhandled trap" dump the QEMU harness looks for).
void dump_trap(const TrapFrame& tf, const char* why);
void print_backtrace(uint64_t fp, uint64_t pc);

// Exception fixup (__ex_table): a faulting instruction listed there resumes
// at its fixup address instead of oopsing. Used by probe_* below and later
// by copy_from_user/copy_to_user.
bool fixup_exception(TrapFrame& tf);

// Try an access; return true if it faulted (kernel self-tests use these to
// prove W^X and guard pages).
bool probe_read(const volatile void* addr);
bool probe_write(volatile void* addr);
bool probe_exec(const void* addr);

// How many trap returns to kernel code found sstatus.SUM set outside the
// uaccess routines (each reported and cleared by entry.S/trap.cpp).
uint64_t sum_leaks_caught();

}  // namespace arch
