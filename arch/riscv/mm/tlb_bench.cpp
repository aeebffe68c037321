// Benchmark of the kernel TLB shootdown (issue 8, item 1): one page
// flushed on 1, 3 and 7 other harts, through SBI RFENCE (the firmware
// sends the IPIs and runs sfence.vma on each target) and through the
// kernel's own IPI cross-call. Needs the 8-hart bench configuration for
// the 7-hart point. Under QEMU -icount the counter is the machine's one
// virtual instruction clock, so a figure includes the targets' handlers
// and the firmware's work: the whole cost of one shootdown.
#include <arch/cpu.h>
#include <arch/memory.h>

#include "arch/riscv/kernel/smp.h"
#include "arch/riscv/mm/tlbflush.h"
#include "kernel/bench.h"
#include "lib/format.h"

BENCH(tlb_shootdown) {
  const unsigned online = arch::nr_online_cpus();
  if (online < 2) return b.skip("needs at least 2 online harts (bench-8hart configuration)");
  const uint64_t va = arch::g_layout.vmalloc_start;  // any kernel address; never mapped here
  static constexpr unsigned kTargets[] = {1, 3, 7};
  char name[40];
  for (int method = 0; method < 2; ++method) {
    const auto want = method == 0 ? arch::TlbRemoteMethod::kSbiRfence : arch::TlbRemoteMethod::kIpi;
    const auto prev = arch::tlb_force_remote_method(want);
    if (method == 0 && prev != arch::TlbRemoteMethod::kSbiRfence) {
      arch::tlb_force_remote_method(prev);
      b.diag("tlb_shootdown: firmware has no SBI RFENCE; IPI figures only");
      continue;
    }
    for (unsigned targets : kTargets) {
      if (targets >= online) {
        b.diag("tlb_shootdown: %u harts online, %u-target point not measured", online, targets);
        break;
      }
      uint64_t mask = 0;
      unsigned picked = 0;
      for (unsigned c = 0; c < arch::nr_cpus() && c < 64 && picked < targets; ++c)
        if (c != arch::this_cpu() && arch::cpu_online(c)) {
          mask |= uint64_t{1} << c;
          ++picked;
        }
      bool ok = true;
      k::snformat(name, sizeof(name), "tlb_shootdown_%s_%u", method == 0 ? "sbi" : "ipi", targets);
      b.measure(name, b.iters(200),
                [&] { ok &= arch::remote_flush_tlb_kernel_range(mask, va, 4096) == picked; });
      if (!ok) b.fail("%s: not every target hart was asked", name);
    }
    arch::tlb_force_remote_method(prev);
  }
}
