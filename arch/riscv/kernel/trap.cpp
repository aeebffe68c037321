// Trap dispatch: interrupts to their handlers, exceptions to fixups, the
// fault handlers registered by mm, or an oops.
#include "arch/riscv/kernel/trap.h"

#include <cstddef>

#include <arch/percpu.h>
#include <arch/platform.h>

#include "arch/riscv/kernel/asm_offsets.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/irq.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "lib/kallsyms.h"
#include "kernel/stack.h"

static_assert(offsetof(arch::CpuBlock, self) == CPU_SELF);
static_assert(offsetof(arch::CpuBlock, scratch) == CPU_SCRATCH);
static_assert(offsetof(arch::CpuBlock, kernel_sp) == CPU_KERNEL_SP);
static_assert(offsetof(arch::CpuBlock, overflow_sp) == CPU_OVERFLOW_SP);
static_assert(offsetof(arch::CpuBlock, stack_base) == 64, "CPU_STACK_BASE in entry.S");
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
}

struct ExTableEntry {
  uint64_t insn;
  uint64_t fixup;
};
extern "C" const ExTableEntry __ex_table_start[], __ex_table_end[];

namespace arch {
namespace {

DEFINE_PER_CPU(uint64_t, g_exec_probe_target);

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
  CpuBlock* cb = cpu_block();
  const uint64_t lo = cb && cb->stack_base ? cb->stack_base : 0;
  const uint64_t hi = cb && cb->stack_top ? cb->stack_top : ~uint64_t{0};
  pr_emerg("Call trace:\n");
  print_frame(pc, false);
  for (int depth = 0; depth < 32; ++depth) {
    if (fp < 16 || (fp & 7) || fp <= lo || fp > hi) break;
    const uint64_t ra = reinterpret_cast<const uint64_t*>(fp)[-1];
    const uint64_t next = reinterpret_cast<const uint64_t*>(fp)[-2];
    if (ra == 0) break;
    print_frame(ra, true);
    if (next <= fp) break;
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
  pr_emerg(
      "kernel stack overflow on CPU %llu (hart %llu): sp %016llx, stack [%016llx-%016llx), "
      "fault address %016llx, pc %016llx\n",
      static_cast<unsigned long long>(cb->cpu), static_cast<unsigned long long>(cb->hartid),
      static_cast<unsigned long long>(tf.sp()), static_cast<unsigned long long>(cb->stack_base),
      static_cast<unsigned long long>(cb->stack_top), static_cast<unsigned long long>(tf.stval),
      static_cast<unsigned long long>(tf.sepc));
  dump_trap(tf, "kernel stack overflow");
  k::panic("kernel stack overflow on CPU %llu", static_cast<unsigned long long>(cb->cpu));
}

bool is_page_fault(uint64_t scause) {
  return scause == kLoadPageFault || scause == kStorePageFault || scause == kInstrPageFault;
}

}  // namespace

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
    if (tf->from_user()) user_irq_return(*tf);
    return tf;
  }
  if (!tf->from_user() && is_page_fault(tf->scause) && cpu_block() &&
      k::in_stack_guard(tf->stval, cpu_block()->stack_base))
    report_stack_overflow(*tf);
  if (!tf->from_user() && fixup_exception(*tf)) return tf;
  if (handle_exception(*tf)) return tf;
  dump_trap(*tf, tf->from_user() ? "user exception" : "kernel exception");
  k::panic("Oops: %s at %016llx", cause_name(tf->scause),
           static_cast<unsigned long long>(tf->sepc));
}
