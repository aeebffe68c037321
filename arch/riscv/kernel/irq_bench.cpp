// Cost of the interrupt path (issue 4 item 9: what the switch to the
// per-hart IRQ stack adds): a software interrupt this hart raises itself
// through sip.SSIP, so the figure is trap entry, dispatch, the IPI
// handler and trap return with no firmware call and no other hart.
#include <arch/cpu.h>

#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/smp.h"
#include "kernel/bench.h"

namespace {
void nothing(void*) {}
}  // namespace

BENCH(irq) {
  if (!arch::irqs_enabled()) return b.skip("interrupts are off in the bench runner");
  // The bare round trip: the handler finds no cross-call posted.
  b.measure("irq_self_sip_roundtrip", b.iters(10000), [] {
    csr_set(sip, arch::kSieSsie);
    asm volatile("" ::: "memory");  // taken at once: SIE and sie.SSIE are on
  });
  // A cross-call to this hart through its own software interrupt.
  b.measure("irq_self_call", b.iters(10000), [] { arch::smp_call_self_irq(nothing, nullptr); });
}
