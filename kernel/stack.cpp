// Guarded kernel stacks from vmalloc. See stack.h.
#include "kernel/stack.h"

#include <arch/cpu.h>
#include <arch/percpu.h>

#include "kernel/printk.h"
#include "lib/types.h"
#include "mm/accounting.h"
#include "mm/gfp.h"
#include "mm/numa.h"
#include "mm/vmalloc.h"

extern "C" [[noreturn]] void arch_run_on_stack(uint64_t top, void (*fn)(void*), void* arg);

namespace k {

namespace {
// A stack's pages are vmalloc pages counted as kernel stack while they
// serve as one (mm/accounting.h).
void reaccount_stack(KernelStack s, MmAcct from, MmAcct to) {
  for (uint64_t va = s.base; va < s.top; va += kPageSize)
    reaccount_pages(from, to, vmalloc_to_page(reinterpret_cast<void*>(va)), 0);
}
}  // namespace

KernelStack alloc_kernel_stack(size_t size, int node) {
  // VM_GUARD_BELOW adds the low guard page; every area has a high one.
  void* p = __vmalloc_node(size, kPageSize, GFP_KERNEL, node, VM_GUARD_BELOW,
                           __builtin_return_address(0));
  if (!p) {
    pr_warn("stack: cannot allocate a %zu-byte kernel stack\n", size);
    return {};
  }
  KernelStack s;
  s.base = reinterpret_cast<uint64_t>(p);
  s.top = s.base + align_up(size, kPageSize);
  reaccount_stack(s, MM_VMALLOC, MM_KSTACK);
  return s;
}

void free_kernel_stack(KernelStack stack) {
  if (!stack) return;
  reaccount_stack(stack, MM_KSTACK, MM_VMALLOC);
  vfree(reinterpret_cast<void*>(stack.base));
}

bool kernel_stacks_init() {
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) {
    arch::CpuBlock* b = arch::cpu_block_of(cpu);
    if (!b) continue;
    const int node = cpu_to_node(cpu);  // the DT node, or the nearest with memory
    if (!b->overflow_sp) {
      const KernelStack s = alloc_kernel_stack(kOverflowStackSize, node);
      if (!s) {
        pr_err("stack: no overflow stack for CPU %u; its stack overflows cannot be reported\n",
               cpu);
        return false;
      }
      // Published before the trap entry may use it.
      __atomic_store_n(&b->overflow_sp, s.top, __ATOMIC_RELEASE);
    }
    if (!b->irq_stack_top) {
      const KernelStack s = alloc_kernel_stack(kIrqStackSize, node);
      if (!s) {
        pr_err("stack: no interrupt stack for CPU %u\n", cpu);
        return false;
      }
      // The trap code uses the IRQ stack once its top is set; interrupts
      // are not on yet on any CPU this runs for.
      b->irq_stack_base = s.base;
      __atomic_store_n(&b->irq_stack_top, s.top, __ATOMIC_RELEASE);
    }
  }
  pr_info("stack: %zu-byte overflow and %zu-byte interrupt stacks, guarded, for %u CPUs\n",
          kOverflowStackSize, kIrqStackSize, arch::nr_cpus());
  return true;
}

void continue_on_stack(KernelStack stack, void (*fn)(void*), void* arg) {
  arch::CpuBlock* b = arch::cpu_block();
  b->stack_base = stack.base;
  b->stack_top = stack.top;
  arch_run_on_stack(stack.top, fn, arg);
}

}  // namespace k
