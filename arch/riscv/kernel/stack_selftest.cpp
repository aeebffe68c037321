// On-target tests of the per-hart interrupt stacks and the boot hart's
// guarded stack (suite `stacks`, kernel/stack.h) and of the sstatus.SUM
// check on trap return to kernel code (suite `sum_check`, entry.S).
#include <atomic>

#include <arch/cpu.h>
#include <arch/percpu.h>
#include <arch/pgtable.h>

#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/smp.h"
#include "arch/riscv/kernel/trap.h"
#include "kernel/selftest.h"
#include "kernel/stack.h"
#include "lib/types.h"
#include "mm/numa.h"
#include "mm/page_map.h"
#include "mm/vmalloc.h"

extern "C" {
arch::TrapFrame* trap_check_sum(arch::TrapFrame* tf);
extern char __arch_uaccess_start[];
extern char boot_stack_top[];  // arch/riscv/boot/head.S
}

namespace {

using namespace k;

uint64_t current_sp() {
  uint64_t sp;
  asm volatile("mv %0, sp" : "=r"(sp));
  return sp;
}

bool is_guarded_vmalloc_stack(uint64_t base, uint64_t top) {
  return base && top > base && is_vmalloc_addr(reinterpret_cast<void*>(base)) &&
         !arch::probe_read(reinterpret_cast<void*>(base)) &&
         !arch::probe_read(reinterpret_cast<void*>(top - 1)) &&
         arch::probe_read(reinterpret_cast<void*>(base - 1)) &&
         arch::probe_read(reinterpret_cast<void*>(base - kPageSize));
}

// What an interrupt handler saw on the hart that ran it.
struct IrqProbe {
  std::atomic<unsigned> on_irq_stack{0};   // sp inside the hart's own IRQ stack
  std::atomic<unsigned> bounds_follow{0};  // CpuBlock::stack_* describe it
  std::atomic<unsigned> task_recorded{0};  // the interrupted stack's bounds kept
  std::atomic<unsigned> task_guarded{0};   // ... and that stack is guarded vmalloc
  std::atomic<unsigned> ran{0};
};

void probe_in_handler(void* arg) {
  auto* p = static_cast<IrqProbe*>(arg);
  const arch::CpuBlock* b = arch::cpu_block();
  const uint64_t sp = current_sp();
  if (sp > b->irq_stack_base && sp < b->irq_stack_top) p->on_irq_stack.fetch_add(1);
  if (b->stack_base == b->irq_stack_base && b->stack_top == b->irq_stack_top)
    p->bounds_follow.fetch_add(1);
  if (b->irq_task_base && b->irq_task_base != b->irq_stack_base) p->task_recorded.fetch_add(1);
  if (is_guarded_vmalloc_stack(b->irq_task_base, b->irq_task_top)) p->task_guarded.fetch_add(1);
  p->ran.fetch_add(1);
}

}  // namespace

SELFTEST(stacks, interrupt_handlers_run_on_this_harts_irq_stack) {
  if (!arch::irqs_enabled()) return t.skip("interrupts are off");
  IrqProbe p;
  unsigned expected = 0;
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) {
    if (!arch::cpu_online(cpu)) continue;
    // This hart through its own software interrupt, the others by IPI.
    const bool ok = cpu == arch::this_cpu() ? arch::smp_call_self_irq(probe_in_handler, &p)
                                            : arch::smp_call_on(cpu, probe_in_handler, &p);
    KEXPECT(ok);
    ++expected;
  }
  KEXPECT_EQ(p.ran.load(), expected);
  KEXPECT_EQ(p.on_irq_stack.load(), expected);
  KEXPECT_EQ(p.bounds_follow.load(), expected);
  KEXPECT_EQ(p.task_recorded.load(), expected);
  KEXPECT_EQ(p.task_guarded.load(), expected);
  // Back here, on the task stack, the bounds are the task's again.
  const arch::CpuBlock* b = arch::cpu_block();
  const uint64_t sp = current_sp();
  KEXPECT(sp > b->stack_base && sp < b->stack_top);
  KEXPECT(b->stack_base != b->irq_stack_base);
}

SELFTEST(stacks, every_irq_stack_is_guarded_vmalloc_on_its_node) {
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) {
    const arch::CpuBlock* b = arch::cpu_block_of(cpu);
    KEXPECT_EQ(b->irq_stack_top - b->irq_stack_base, kIrqStackSize);
    KEXPECT(is_guarded_vmalloc_stack(b->irq_stack_base, b->irq_stack_top));
    // The guard page above is unmapped too (every vmalloc area has one).
    KEXPECT(arch::probe_read(reinterpret_cast<void*>(b->irq_stack_top)));
    // Node-local: every page of the stack on the CPU's node.
    for (uint64_t va = b->irq_stack_base; va < b->irq_stack_top; va += kPageSize) {
      const auto pte = arch::lookup_kernel_address(VirtAddr(va));
      KASSERT(pte.has_value());
      KEXPECT_EQ(static_cast<int>(phys_to_page(pte->pa)->nid), cpu_to_node(cpu));
    }
    // One stack per hart.
    for (unsigned other = 0; other < cpu; ++other)
      KEXPECT(arch::cpu_block_of(other)->irq_stack_base != b->irq_stack_base);
  }
}

namespace {

std::atomic<unsigned> g_guarded_harts;

void check_running_stack(void*) {
  const arch::CpuBlock* b = arch::cpu_block();
  // From an IPI this runs on the IRQ stack: check it and the stack the
  // interrupt came in on; on the calling hart it runs on the task stack.
  const bool in_irq = b->stack_base == b->irq_stack_base;
  const uint64_t sp = current_sp();
  bool ok = sp > b->stack_base && sp < b->stack_top &&
            is_guarded_vmalloc_stack(b->stack_base, b->stack_top);
  if (in_irq) ok = ok && is_guarded_vmalloc_stack(b->irq_task_base, b->irq_task_top);
  if (ok) g_guarded_harts.fetch_add(1);
}

}  // namespace

SELFTEST(stacks, every_hart_runs_on_a_guarded_vmalloc_stack) {
  g_guarded_harts.store(0);
  const unsigned ran = arch::smp_call_all_concurrently(check_running_stack, nullptr);
  KEXPECT_EQ(ran, arch::nr_online_cpus());
  KEXPECT_EQ(g_guarded_harts.load(), ran);
  // The boot hart left its .bss stack.
  const uint64_t sp = current_sp();
  const uint64_t boot_top = reinterpret_cast<uint64_t>(boot_stack_top);
  KEXPECT(!(sp < boot_top && sp > boot_top - kKernelStackSize));
}

// The SUM check: expected leaks (this suite's own) are subtracted, so the
// counter below catches a leak in any other suite.
namespace {

std::atomic<uint64_t> g_sum_leaks_expected{0};
uint64_t unexpected_sum_leaks() { return arch::sum_leaks_caught() - g_sum_leaks_expected.load(); }
SELFTEST_COUNTER(sum_leaks, unexpected_sum_leaks);

bool sum_is_set() { return (csr_read(sstatus) & arch::kSstatusSum) != 0; }

}  // namespace

SELFTEST(sum_check, sum_left_set_is_reported_and_cleared_at_trap_return) {
  // An unmapped kernel address: the guard page above a vmalloc area.
  auto* area = static_cast<char*>(vmalloc(kPageSize));
  KASSERT(area != nullptr);
  const unsigned long flags = arch::irq_save();
  const uint64_t before = arch::sum_leaks_caught();
  // A trap with SUM clear is not counted.
  KEXPECT(arch::probe_read(area + kPageSize));
  KEXPECT_EQ(arch::sum_leaks_caught(), before);
  // Kernel code "forgets" SUM, then takes a fault outside uaccess.
  g_sum_leaks_expected.fetch_add(1);
  csr_set(sstatus, arch::kSstatusSum);
  const bool faulted = arch::probe_read(area + kPageSize);
  const bool sum_after = sum_is_set();
  csr_clear(sstatus, arch::kSstatusSum);  // in case the check did not
  arch::irq_restore(flags);
  KEXPECT(faulted);
  KEXPECT(!sum_after);
  KEXPECT_EQ(arch::sum_leaks_caught(), before + 1);
  vfree(area);
}

SELFTEST(sum_check, sum_inside_the_uaccess_routines_is_left_alone) {
  const uint64_t before = arch::sum_leaks_caught();
  arch::TrapFrame tf{};
  tf.sstatus = arch::kSstatusSum | (uint64_t{1} << 8);  // SPP = S
  tf.sepc = reinterpret_cast<uint64_t>(__arch_uaccess_start);
  trap_check_sum(&tf);
  KEXPECT(tf.sstatus & arch::kSstatusSum);
  KEXPECT_EQ(arch::sum_leaks_caught(), before);
  // The same frame a byte before the routines is a leak.
  g_sum_leaks_expected.fetch_add(1);
  tf.sepc = reinterpret_cast<uint64_t>(__arch_uaccess_start) - 4;
  trap_check_sum(&tf);
  KEXPECT(!(tf.sstatus & arch::kSstatusSum));
  KEXPECT_EQ(arch::sum_leaks_caught(), before + 1);
}
