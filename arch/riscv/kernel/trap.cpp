// Trap dispatch: interrupts to their handlers, exceptions to fixups, the
// fault handlers registered by mm, or an oops.
#include "arch/riscv/kernel/trap.h"

#include <atomic>
#include <cstddef>

#include <arch/percpu.h>
#include <arch/platform.h>
#include <arch/tlb.h>

#include "arch/riscv/kernel/asm_offsets.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/irq.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "arch/riscv/kernel/uaccess.h"
#include "kernel/sched/sched.h"
#include "kernel/stack.h"
#include "lib/kallsyms.h"
#include "mm/kfence.h"

static_assert(offsetof(arch::CpuBlock, self) == CPU_SELF);
static_assert(offsetof(arch::CpuBlock, scratch) == CPU_SCRATCH);
static_assert(offsetof(arch::CpuBlock, kernel_sp) == CPU_KERNEL_SP);
static_assert(offsetof(arch::CpuBlock, overflow_sp) == CPU_OVERFLOW_SP);
static_assert(offsetof(arch::CpuBlock, stack_base) == CPU_STACK_BASE);
static_assert(offsetof(arch::CpuBlock, stack_top) == CPU_STACK_TOP);
static_assert(offsetof(arch::CpuBlock, irq_stack_base) == CPU_IRQ_STACK_BASE);
static_assert(offsetof(arch::CpuBlock, irq_stack_top) == CPU_IRQ_STACK_TOP);
static_assert(offsetof(arch::CpuBlock, irq_task_base) == CPU_IRQ_TASK_BASE);
static_assert(offsetof(arch::CpuBlock, irq_task_top) == CPU_IRQ_TASK_TOP);
static_assert(arch::kSstatusSum == uint64_t{1} << SSTATUS_SUM_BIT);
static_assert(offsetof(arch::TrapFrame, sepc) == TF_SEPC);
static_assert(offsetof(arch::TrapFrame, sstatus) == TF_SSTATUS);
static_assert(offsetof(arch::TrapFrame, scause) == TF_SCAUSE);
static_assert(offsetof(arch::TrapFrame, stval) == TF_STVAL);
static_assert(sizeof(arch::TrapFrame) == TF_SIZE && TF_SIZE % 16 == 0);

extern "C" {
void trap_entry();
void arch_probe_exec_fault();
int arch_probe_read(const volatile void*);
int arch_probe_write(volatile void*);
int arch_probe_exec(const void*);
void call_on_irq_stack(arch::TrapFrame* tf, void (*fn)(arch::TrapFrame*));
}

struct ExTableEntry {
  uint64_t insn;
  uint64_t fixup;
};
extern "C" const ExTableEntry __ex_table_start[], __ex_table_end[];

namespace arch {
namespace {

DEFINE_PER_CPU(uint64_t, g_exec_probe_target);
std::atomic<uint64_t> g_sum_leaks{0};

const char* const kExceptionNames[] = {"instruction address misaligned",
                                       "instruction access fault",
                                       "illegal instruction",
                                       "breakpoint",
                                       "load address misaligned",
                                       "load access fault",
                                       "store/AMO address misaligned",
                                       "store/AMO access fault",
                                       "environment call from U-mode",
                                       "environment call from S-mode",
                                       "reserved",
                                       "reserved",
                                       "instruction page fault",
                                       "load page fault",
                                       "reserved",
                                       "store/AMO page fault"};

const char* const kRegNames[32] = {"zero", "ra", "sp",  "gp",  "tp", "t0", "t1", "t2",
                                   "s0",   "s1", "a0",  "a1",  "a2", "a3", "a4", "a5",
                                   "a6",   "a7", "s2",  "s3",  "s4", "s5", "s6", "s7",
                                   "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

}  // namespace

const char* cause_name(uint64_t scause) {
  if (scause & kInterruptBit) {
    switch (scause & ~kInterruptBit) {
      case kIrqSoftware:
        return "supervisor software interrupt";
      case kIrqTimer:
        return "supervisor timer interrupt";
      case kIrqExternal:
        return "supervisor external interrupt";
      default:
        return "unknown interrupt";
    }
  }
  return scause < 16 ? kExceptionNames[scause] : "unknown exception";
}

// One backtrace line: address and, from the embedded symbol table,
// function+offset/size (the format Linux prints and tools/symbolize.py
// reads). A return address is looked up one byte back, like Linux's %pB:
// after a call to a noreturn function it may point at the next function.
void print_frame(uint64_t pc, bool is_return_address) {
  k::Symbol sym;
  const uint64_t at = is_return_address ? pc - 1 : pc;
  if (k::kallsyms_lookup(at, &sym))
    pr_emerg("  [<%016llx>] %s+0x%llx/0x%llx\n", static_cast<unsigned long long>(pc), sym.name,
             static_cast<unsigned long long>(sym.offset + (pc - at)),
             static_cast<unsigned long long>(sym.size));
  else
    pr_emerg("  [<%016llx>] ?\n", static_cast<unsigned long long>(pc));
}

void print_backtrace(uint64_t fp, uint64_t pc) {
  // GCC's RISC-V frame record (with -fno-omit-frame-pointer): fp points at
  // the caller's sp; the saved ra is at fp-8 and the caller's fp at fp-16.
  // Frames stay within the current stack; on the IRQ stack the walk may
  // cross once to the interrupted stack (call_on_irq_stack's frame record).
  CpuBlock* cb = cpu_block();
  uint64_t lo = cb && cb->stack_base ? cb->stack_base : 0;
  uint64_t hi = cb && cb->stack_top ? cb->stack_top : ~uint64_t{0};
  bool may_leave_irq_stack = cb && cb->irq_stack_base && cb->stack_base == cb->irq_stack_base;
  const auto within = [](uint64_t p, uint64_t l, uint64_t h) { return p > l && p <= h; };
  pr_emerg("Call trace:\n");
  print_frame(pc, false);
  for (int depth = 0; depth < 32; ++depth) {
    if (fp < 16 || (fp & 7)) break;
    if (!within(fp, lo, hi)) {
      if (!may_leave_irq_stack || !within(fp, cb->irq_task_base, cb->irq_task_top)) break;
      pr_emerg("  <IRQ stack end>\n");
      lo = cb->irq_task_base;
      hi = cb->irq_task_top;
      may_leave_irq_stack = false;
    }
    const uint64_t ra = reinterpret_cast<const uint64_t*>(fp)[-1];
    const uint64_t next = reinterpret_cast<const uint64_t*>(fp)[-2];
    if (ra == 0) break;
    print_frame(ra, true);
    // Frames grow towards higher addresses, except where the walk
    // crosses to the other stack.
    if (next <= fp && !(may_leave_irq_stack && !within(next, lo, hi))) break;
    fp = next;
  }
}

void dump_trap(const TrapFrame& tf, const char* why) {
  CpuBlock* cb = cpu_block();
  pr_emerg("Unhandled trap: %s (%s)\n", why, cause_name(tf.scause));
  pr_emerg("CPU: %llu hart: %llu %s mode\n", cb ? static_cast<unsigned long long>(cb->cpu) : 0ull,
           cb ? static_cast<unsigned long long>(cb->hartid) : 0ull,
           tf.from_user() ? "user" : "kernel");
  pr_emerg("scause: %016llx stval: %016llx sepc: %016llx sstatus: %016llx\n",
           static_cast<unsigned long long>(tf.scause), static_cast<unsigned long long>(tf.stval),
           static_cast<unsigned long long>(tf.sepc), static_cast<unsigned long long>(tf.sstatus));
  for (int i = 1; i < 32; i += 4) {
    pr_emerg(" %4s: %016llx %4s: %016llx %4s: %016llx %4s: %016llx\n", kRegNames[i],
             static_cast<unsigned long long>(tf.regs[i]), kRegNames[i + 1],
             static_cast<unsigned long long>(tf.regs[i + 1]), i + 2 < 32 ? kRegNames[i + 2] : "",
             static_cast<unsigned long long>(i + 2 < 32 ? tf.regs[i + 2] : 0),
             i + 3 < 32 ? kRegNames[i + 3] : "",
             static_cast<unsigned long long>(i + 3 < 32 ? tf.regs[i + 3] : 0));
  }
  if (!tf.from_user()) print_backtrace(tf.fp(), tf.sepc);
}

bool fixup_exception(TrapFrame& tf) {
  for (const ExTableEntry* e = __ex_table_start; e < __ex_table_end; ++e) {
    if (e->insn == tf.sepc) {
      tf.sepc = e->fixup;
      return true;
    }
  }
  const bool fetch_fault = tf.scause == kInstrPageFault || tf.scause == kInstrAccessFault;
  const uint64_t target = this_cpu_read(g_exec_probe_target);
  if (fetch_fault && target && tf.sepc == target) {
    tf.sepc = reinterpret_cast<uint64_t>(&arch_probe_exec_fault);
    return true;
  }
  return false;
}

bool probe_read(const volatile void* addr) { return arch_probe_read(addr) != 0; }
bool probe_write(volatile void* addr) { return arch_probe_write(addr) != 0; }
bool probe_exec(const void* addr) {
  this_cpu_write(g_exec_probe_target, reinterpret_cast<uint64_t>(addr));
  const bool faulted = arch_probe_exec(addr) != 0;
  this_cpu_write(g_exec_probe_target, 0);
  return faulted;
}

void trap_init_this_hart() {
  csr_write(stvec, reinterpret_cast<uint64_t>(&trap_entry));
  csr_write(sscratch, 0);
}

namespace {

// Never returns: the interrupted stack is unusable. Runs on the overflow
// stack (entry.S) or, for a fault in the guard page, on what is left of
// the current stack.
[[noreturn]] void report_stack_overflow(const TrapFrame& tf) {
  CpuBlock* cb = cpu_block();
  // A trap while reporting must not come back here: it stays on the
  // overflow stack (entry.S falls through without an overflow stack).
  cb->overflow_sp = 0;
  const char* which =
      cb->irq_stack_base && cb->stack_base == cb->irq_stack_base ? "irq stack" : "task stack";
  pr_emerg(
      "kernel stack overflow on CPU %llu (hart %llu), %s: sp %016llx, stack [%016llx-%016llx), "
      "fault address %016llx, pc %016llx\n",
      static_cast<unsigned long long>(cb->cpu), static_cast<unsigned long long>(cb->hartid), which,
      static_cast<unsigned long long>(tf.sp()), static_cast<unsigned long long>(cb->stack_base),
      static_cast<unsigned long long>(cb->stack_top), static_cast<unsigned long long>(tf.stval),
      static_cast<unsigned long long>(tf.sepc));
  dump_trap(tf, "kernel stack overflow");
  k::panic("kernel stack overflow on CPU %llu (%s)", static_cast<unsigned long long>(cb->cpu),
           which);
}

bool is_page_fault(uint64_t scause) {
  return scause == kLoadPageFault || scause == kStorePageFault || scause == kInstrPageFault;
}

// Timer, IPI or external interrupt; runs on this hart's IRQ stack.
void handle_interrupt(TrapFrame* tf) {
  CpuBlock* cb = cpu_block();
  ++cb->irq_depth;
  switch (tf->scause & ~kInterruptBit) {
    case kIrqTimer:
      timer_interrupt();
      break;
    case kIrqSoftware:
      ipi_interrupt();
      break;
    case kIrqExternal:
      external_interrupt();
      break;
    default:
      dump_trap(*tf, "unexpected interrupt");
      k::panic("unexpected interrupt");
  }
  --cb->irq_depth;
}

// An interrupt that arrives on the task stack moves to the IRQ stack
// (kernel/stack.h); one that arrives on the IRQ stack (an exception or a
// nested interrupt inside a handler) stays there. Exceptions stay on the
// stack they happened on. Back on the interrupted stack, the scheduler may
// switch tasks: never from the IRQ stack, which belongs to the hart.
void dispatch_interrupt(TrapFrame* tf) {
  CpuBlock* cb = cpu_block();
  const uint64_t at = reinterpret_cast<uint64_t>(tf);
  const bool on_irq_stack = at - cb->irq_stack_base < cb->irq_stack_top - cb->irq_stack_base;
  if (on_irq_stack || cb->irq_depth) {
    handle_interrupt(tf);
    return;
  }
  if (cb->irq_stack_top)
    call_on_irq_stack(tf, handle_interrupt);
  else
    handle_interrupt(tf);  // early boot: no IRQ stack yet
  k::sched_irq_exit(tf->from_user());
}

}  // namespace

uint64_t sum_leaks_caught() { return g_sum_leaks.load(std::memory_order_relaxed); }

namespace {}  // namespace

}  // namespace arch

// Called from entry.S with the frame; returns the frame to resume.
extern "C" arch::TrapFrame* trap_handler(arch::TrapFrame* tf) {
  using namespace arch;
  {
    // entry.S put the frame at the top of the overflow stack: the
    // interrupted kernel stack had no room left.
    const CpuBlock* cb = cpu_block();
    if (cb && cb->overflow_sp &&
        reinterpret_cast<uint64_t>(tf) == cb->overflow_sp - sizeof(TrapFrame))
      report_stack_overflow(*tf);
  }
  if (tf->scause & kInterruptBit) {
    dispatch_interrupt(tf);
    if (tf->from_user()) user_irq_return(*tf);
    return tf;
  }
  // A uaccess or probe touching a new vmalloc page this hart holds a stale
  // invalid entry for is not a real fault: retry before anything else.
  if (!tf->from_user() && is_page_fault(tf->scause) && vmalloc_spurious_fault(tf->stval)) return tf;
  // Fixups next: a probe of a guard page (self-tests) is not an overflow;
  // a real overflow faults on a plain stack access, never a listed one.
  if (!tf->from_user() && fixup_exception(*tf)) return tf;
  if (!tf->from_user() && is_page_fault(tf->scause) && cpu_block() &&
      k::in_stack_guard(tf->stval, cpu_block()->stack_base))
    report_stack_overflow(*tf);
  if (!tf->from_user() && (tf->scause == kLoadPageFault || tf->scause == kStorePageFault) &&
      k::kfence_handle_fault(tf->stval, tf->scause == kStorePageFault, *tf))
    return tf;
  if (handle_exception(*tf)) return tf;
  dump_trap(*tf, tf->from_user() ? "user exception" : "kernel exception");
  k::panic("Oops: %s at %016llx", cause_name(tf->scause),
           static_cast<unsigned long long>(tf->sepc));
}

// trap_return (entry.S) found sstatus.SUM set in a frame going back to
// S-mode. Legitimate only for a trap inside the uaccess routines (a fault
// they fix up); anywhere else kernel code left user memory open: report
// it and return with SUM clear. Returns the frame.
extern "C" arch::TrapFrame* trap_check_sum(arch::TrapFrame* tf) {
  using namespace arch;
  if (in_uaccess_routine(tf->sepc)) return tf;
  g_sum_leaks.fetch_add(1, std::memory_order_relaxed);
  tf->sstatus &= ~kSstatusSum;
  pr_err("BUG: sstatus.SUM set outside uaccess on return to kernel code at pc %016llx (cleared)\n",
         static_cast<unsigned long long>(tf->sepc));
  return tf;
}
