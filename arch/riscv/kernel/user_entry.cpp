// New-task contexts and user FP state for the scheduler (arch/context.h).
#include <arch/context.h>

#include "arch/riscv/kernel/csr.h"

extern "C" {
void ret_from_fork();
void __fpu_save(arch::FpuState*);
void __fpu_restore(const arch::FpuState*);
}

namespace arch {

void prepare_new_context(SwitchContext* ctx, uint64_t stack_top, void* (*fn)(void*), void* arg) {
  *ctx = SwitchContext{};
  ctx->ra = reinterpret_cast<uint64_t>(&ret_from_fork);
  ctx->sp = stack_top;
  ctx->s[0] = reinterpret_cast<uint64_t>(fn);
  ctx->s[1] = reinterpret_cast<uint64_t>(arg);
}

// FS must be on for the F/D instructions; it is per hart state the next
// trap_return overwrites from the frame, so setting it here is harmless.
void fpu_save(FpuState* s) {
  csr_set(sstatus, kSstatusFsMask);
  __fpu_save(s);
}

void fpu_restore(const FpuState* s) {
  csr_set(sstatus, kSstatusFsMask);
  __fpu_restore(s);
}

}  // namespace arch
