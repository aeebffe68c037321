#include "arch/riscv/kernel/smp.h"

#include <atomic>
#include <cstddef>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/platform.h>

#include "arch/riscv/boot/asm_defs.h"
#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/irq.h"
#include "arch/riscv/kernel/percpu_region.h"
#include "arch/riscv/kernel/sbi.h"
#include "arch/riscv/kernel/trap.h"
#include "lib/fdt_boot.h"
#include "lib/string.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/sched/sched.h"
#include "kernel/stack.h"
#include "mm/memblock.h"
#include "mm/percpu_alloc.h"
#include "mm/vmalloc.h"

static_assert(offsetof(arch::SecondaryBoot, satp) == SECONDARY_SATP);
static_assert(offsetof(arch::SecondaryBoot, va_pa_offset) == SECONDARY_VA_PA);
static_assert(offsetof(arch::SecondaryBoot, sp) == SECONDARY_SP);
static_assert(offsetof(arch::SecondaryBoot, tp) == SECONDARY_TP);

extern "C" {
extern char boot_stack_top[];
void secondary_entry();
extern uint64_t g_va_pa_offset;
arch::SecondaryBoot g_secondary_boot;
}

// The boot hart's CpuBlock is the first object of the per-CPU template.
[[gnu::section(".percpu.first")]] arch::CpuBlock g_percpu_block_template;

namespace arch {
namespace {

constexpr size_t kKernelStackSize = 16384;

CpuInfo* g_cpus;
unsigned g_nr_cpus = 1;
std::atomic<unsigned> g_nr_online{1};

// One cross-call slot per CPU; callers serialize on g_call_lock.
struct CallSlot {
  std::atomic<void (*)(void*)> fn;
  void* arg;
  std::atomic<uint64_t> done;
  std::atomic<uint64_t> handled;
  uint64_t posted_gen;  // `done` when the current concurrent call was posted
};
DEFINE_PER_CPU(CallSlot, g_call_slot);
std::atomic<uint32_t> g_call_lock{0};
DEFINE_PER_CPU(std::atomic<uint32_t>, g_stop_requested);

void send_ipi_to(unsigned cpu) {
  const uint64_t hartid = g_cpus[cpu].hartid;
  // SBI IPI takes a hart mask relative to a base hart id (spec 7.1).
  sbi::send_ipi(1, hartid);
}

}  // namespace

static_assert(offsetof(CpuBlock, cpu) == 24, "arch::this_cpu() reads tp + 24");
unsigned nr_cpus() { return g_nr_cpus; }
const CpuInfo& cpu_info(unsigned cpu) { return g_cpus[cpu]; }
CpuBlock* cpu_block_of(unsigned cpu) { return g_cpus[cpu].block; }
bool cpu_online(unsigned cpu) { return cpu < g_nr_cpus && g_cpus[cpu].online; }
unsigned nr_online_cpus() { return g_nr_online.load(); }

int hart_to_cpu(uint64_t hartid) {
  for (unsigned i = 0; i < g_nr_cpus; ++i)
    if (g_cpus[i].hartid == hartid) return static_cast<int>(i);
  return -1;
}

unsigned smp_enumerate(const k::fdt::Fdt& fdt, uint64_t boot_hartid) {
  unsigned usable = 0;
  bool boot_seen = false;
  k::fdt::for_each_hart(fdt, [&](const k::fdt::HartInfo& h) {
    if (h.okay && h.has_mmu) ++usable;
    if (h.hartid == boot_hartid) boot_seen = true;
  });
  if (!boot_seen) {
    pr_warn("smp: boot hart %llu not in /cpus; running uniprocessor\n",
            static_cast<unsigned long long>(boot_hartid));
    usable = 0;
  }
  const unsigned n = usable ? usable : 1;
  g_cpus = static_cast<CpuInfo*>(k::memblock.alloc(sizeof(CpuInfo) * n, alignof(CpuInfo)));
  if (!g_cpus) k::panic("smp: cannot allocate the CPU table for %u harts", n);
  g_cpus[0] = CpuInfo{boot_hartid, 0, true, nullptr};
  unsigned next = 1;
  k::fdt::for_each_hart(fdt, [&](const k::fdt::HartInfo& h) {
    if (h.hartid == boot_hartid) {
      g_cpus[0].node = h.nid < 0 ? 0 : h.nid;
      return;
    }
    if (!h.okay) {
      pr_info("smp: hart %llu disabled in the DT, skipped\n",
              static_cast<unsigned long long>(h.hartid));
      return;
    }
    if (!h.has_mmu) {
      pr_info("smp: hart %llu has no MMU (%.*s), skipped\n",
              static_cast<unsigned long long>(h.hartid), static_cast<int>(h.isa.size()),
              h.isa.data());
      return;
    }
    if (!boot_seen || next >= n) return;
    g_cpus[next++] = CpuInfo{h.hartid, h.nid < 0 ? 0 : h.nid, false, nullptr};
  });
  g_nr_cpus = next;
  return g_nr_cpus;
}

void percpu_init() {
  // Each area: a copy of the static template, then the dynamic region that
  // alloc_percpu() hands out at the same offset on every CPU; it is the
  // first chunk of the CPU's unit in the per-CPU region (percpu_region.cpp),
  // so later chunks can follow it at the same offset on every CPU.
  const size_t tmpl = static_cast<size_t>(__percpu_end - __percpu_start);
  const size_t size = k::percpu_area_size();
  for (unsigned cpu = 0; cpu < g_nr_cpus; ++cpu) {
    void* area = percpu_setup_unit(cpu, g_nr_cpus, g_cpus[cpu].node, size);
    memset(area, 0, size);  // memblock memory is zeroed; be explicit for the dynamic part
    memcpy(area, __percpu_start, tmpl);
    auto* b = static_cast<CpuBlock*>(area);
    *b = CpuBlock{};
    b->self = b;
    b->cpu = cpu;
    b->hartid = g_cpus[cpu].hartid;
    b->node = static_cast<uint64_t>(g_cpus[cpu].node);
    g_cpus[cpu].block = b;
  }
  // The boot hart keeps its stack (boot_stack in .bss) but moves to its own
  // per-CPU copy; the template stays pristine for nothing else to use.
  CpuBlock* boot = g_cpus[0].block;
  boot->stack_top = reinterpret_cast<uint64_t>(boot_stack_top);
  boot->stack_base = boot->stack_top - BOOT_STACK_SIZE;
  asm volatile("mv tp, %0" ::"r"(boot) : "memory");
  k::percpu_dynamic_init();
}

void smp_boot_secondaries() {
  for (unsigned cpu = 1; cpu < g_nr_cpus; ++cpu) {
    CpuInfo& c = g_cpus[cpu];
    // A guarded vmalloc stack (kernel/stack.h) once vmalloc works; before
    // that (page allocator not set up) an unguarded one from memblock.
    uint64_t stack = 0;
    if (k::vmalloc_ready()) {
      stack = k::alloc_kernel_stack(kKernelStackSize, c.node).base;
    } else {
      stack = reinterpret_cast<uint64_t>(k::memblock.alloc(kKernelStackSize, 16, c.node));
    }
    if (!stack) {
      pr_err("smp: no memory for the stack of CPU %u; not started\n", cpu);
      continue;
    }
    c.block->stack_base = stack;
    c.block->stack_top = c.block->stack_base + kKernelStackSize;
    g_secondary_boot.satp = csr_read(satp);
    g_secondary_boot.va_pa_offset = g_va_pa_offset;
    g_secondary_boot.sp = c.block->stack_top;
    g_secondary_boot.tp = reinterpret_cast<uint64_t>(c.block);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint64_t entry_pa = virt_to_phys(reinterpret_cast<const void*>(&secondary_entry)).value();
    const uint64_t boot_pa = virt_to_phys(&g_secondary_boot).value();
    const long err = sbi::hart_start(c.hartid, entry_pa, boot_pa);
    if (err) {
      pr_err("smp: SBI HSM hart_start(hart %llu) failed: %s\n",
             static_cast<unsigned long long>(c.hartid), sbi::error_name(err));
      continue;
    }
    // Wait up to one second for the hart to say it is online.
    const uint64_t deadline = read_time() + timebase_hz();
    while (!__atomic_load_n(&c.online, __ATOMIC_ACQUIRE) && read_time() < deadline) cpu_relax();
    if (!__atomic_load_n(&c.online, __ATOMIC_ACQUIRE))
      pr_err("smp: CPU %u (hart %llu) did not come online\n", cpu,
             static_cast<unsigned long long>(c.hartid));
  }
  pr_info("smp: %u of %u CPUs online\n", nr_online_cpus(), g_nr_cpus);
}

namespace {

// Posts fn(arg) in `slot` (under g_call_lock), raises the interrupt with
// `kick`, and waits up to one second for the handler to run it; false
// (after pr_err with `what`) if it did not.
template <typename Kick>
bool post_and_wait(CallSlot& slot, void (*fn)(void*), void* arg, Kick kick, unsigned cpu,
                   const char* what) {
  while (g_call_lock.exchange(1, std::memory_order_acquire)) cpu_relax();
  const uint64_t before = slot.done.load(std::memory_order_acquire);
  slot.arg = arg;
  slot.fn.store(fn, std::memory_order_release);
  kick();
  const uint64_t deadline = read_time() + timebase_hz();
  bool ok = true;
  while (slot.done.load(std::memory_order_acquire) == before) {
    if (read_time() > deadline) {
      ok = false;
      slot.fn.store(nullptr, std::memory_order_release);
      pr_err("smp: CPU %u did not %s\n", cpu, what);
      break;
    }
    cpu_relax();
  }
  g_call_lock.store(0, std::memory_order_release);
  return ok;
}

}  // namespace

bool smp_call_on(unsigned cpu, void (*fn)(void*), void* arg) {
  if (!cpu_online(cpu)) return false;
  if (cpu == this_cpu()) {
    const unsigned long flags = irq_save();
    fn(arg);
    irq_restore(flags);
    return true;
  }
  return post_and_wait(
      per_cpu(g_call_slot, cpu), fn, arg, [cpu] { send_ipi_to(cpu); }, cpu, "answer a cross-call");
}

bool smp_call_self_irq(void (*fn)(void*), void* arg) {
  if (!irqs_enabled()) return false;
  // S-mode may raise its own software interrupt by writing sip.SSIP
  // (Privileged spec 4.1.3): a self-IPI without a firmware call. With SIE
  // and sie.SSIE on it is taken right after this instruction.
  return post_and_wait(
      *this_cpu_ptr(&g_call_slot), fn, arg, [] { csr_set(sip, kSieSsie); }, this_cpu(),
      "take its own software interrupt");
}

unsigned smp_call_others(void (*fn)(void*), void* arg) {
  unsigned answered = 0;
  for (unsigned cpu = 0; cpu < g_nr_cpus; ++cpu)
    if (cpu != this_cpu() && cpu_online(cpu) && smp_call_on(cpu, fn, arg)) ++answered;
  return answered;
}

unsigned smp_call_all_concurrently(void (*fn)(void*), void* arg) {
  while (g_call_lock.exchange(1, std::memory_order_acquire)) cpu_relax();
  const unsigned self = this_cpu();
  // Generation counters sampled before posting, one per CPU (kept in the
  // CPU's own slot so no array sized by CPU count is needed).
  for (unsigned cpu = 0; cpu < g_nr_cpus; ++cpu) {
    if (cpu == self || !g_cpus[cpu].online) continue;
    CallSlot& slot = per_cpu(g_call_slot, cpu);
    slot.posted_gen = slot.done.load(std::memory_order_acquire);
    slot.arg = arg;
    slot.fn.store(fn, std::memory_order_release);
    send_ipi_to(cpu);
  }
  fn(arg);
  unsigned ran = 1;
  const uint64_t deadline = read_time() + 10 * timebase_hz();
  for (unsigned cpu = 0; cpu < g_nr_cpus; ++cpu) {
    if (cpu == self || !g_cpus[cpu].online) continue;
    CallSlot& slot = per_cpu(g_call_slot, cpu);
    while (slot.done.load(std::memory_order_acquire) == slot.posted_gen && read_time() < deadline)
      cpu_relax();
    if (slot.done.load(std::memory_order_acquire) != slot.posted_gen)
      ++ran;
    else
      pr_err("smp: CPU %u did not finish a concurrent call\n", cpu);
  }
  g_call_lock.store(0, std::memory_order_release);
  return ran;
}

uint64_t cpu_ipi_count(unsigned cpu) {
  return per_cpu(g_call_slot, cpu).handled.load(std::memory_order_relaxed);
}

void ipi_interrupt() {
  csr_clear(sip, kSieSsie);
  CallSlot* slot = this_cpu_ptr(&g_call_slot);
  slot->handled.fetch_add(1, std::memory_order_relaxed);
  if (this_cpu_ptr(&g_stop_requested)->load()) halt_this_hart();
  if (auto fn = slot->fn.exchange(nullptr, std::memory_order_acq_rel)) {
    fn(slot->arg);
    slot->done.fetch_add(1, std::memory_order_release);
  }
}

void stop_other_harts() {
  if (!g_cpus) return;
  const unsigned self = this_cpu();
  for (unsigned cpu = 0; cpu < g_nr_cpus; ++cpu) {
    if (cpu == self || !g_cpus[cpu].online) continue;
    per_cpu(g_stop_requested, cpu).store(1);
    send_ipi_to(cpu);
  }
}

[[noreturn]] void halt_this_hart() {
  irq_disable();
  for (;;) asm volatile("wfi");
}

}  // namespace arch

extern "C" [[noreturn]] void secondary_main(uint64_t hartid) {
  using namespace arch;
  trap_init_this_hart();
  CpuBlock* b = cpu_block();
  csr_set(sie, kSieSsie);
  timer_start_this_hart();
  const unsigned cpu = static_cast<unsigned>(b->cpu);
  pr_info("CPU%u: hart %llu online (node %llu)\n", cpu, static_cast<unsigned long long>(hartid),
          static_cast<unsigned long long>(b->node));
  g_nr_online.fetch_add(1);
  __atomic_store_n(&g_cpus[cpu].online, true, __ATOMIC_RELEASE);
  irq_enable();
  k::sched_idle_entry();  // run queued tasks; wfi when there are none
}

#include "kernel/shell.h"

SHELL_COMMAND(cpus, "list harts: logical id, hart id, node, online, ticks, IPIs") {
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) {
    const arch::CpuInfo& c = arch::cpu_info(cpu);
    k::printk_raw("CPU%-3u hart %-4llu node %-2d %-8s ticks %-8llu ipis %llu\n", cpu,
                  static_cast<unsigned long long>(c.hartid), c.node,
                  c.online ? "online" : "offline",
                  static_cast<unsigned long long>(arch::cpu_ticks(cpu)),
                  static_cast<unsigned long long>(arch::cpu_ipi_count(cpu)));
  }
  return 0;
}
