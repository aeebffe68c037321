#include "kernel/irq.h"

#include <atomic>

#include <arch/cpu.h>

#include "arch/riscv/kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/shell.h"
#include "lib/spinlock.h"

namespace k {
namespace {

struct IrqDesc {
  irq_handler_t handler = nullptr;
  void* data = nullptr;
  const char* name = nullptr;
  unsigned cpu = 0;
  std::atomic<uint64_t> count{0};
};

// Registration lock; dispatch reads handler/data without it (a line is
// masked before its handler changes, and handlers run with IRQs off).
SpinLock g_irq_lock;
IrqDesc g_irqs[kNrIrqs];
std::atomic<const IrqChip*> g_chip{nullptr};
std::atomic<uint64_t> g_spurious{0};

bool valid_line(const IrqChip* chip, unsigned irq) {
  return chip && irq != 0 && irq <= chip->nr_irqs && irq < kNrIrqs;
}

void enable_this_hart_cb(void*) {
  if (const IrqChip* c = g_chip.load()) c->enable_this_hart();
}

}  // namespace

void irq_set_chip(const IrqChip* chip) { g_chip.store(chip); }
const IrqChip* irq_chip() { return g_chip.load(); }

Result<void> request_irq(unsigned irq, irq_handler_t handler, void* data, const char* name) {
  const IrqChip* chip = g_chip.load();
  if (!chip) return Errno::kENODEV;
  if (!handler || !valid_line(chip, irq)) return Errno::kEINVAL;
  {
    IrqSpinLockGuard g(g_irq_lock);
    IrqDesc& d = g_irqs[irq];
    if (d.handler) return Errno::kEBUSY;
    d.data = data;
    d.name = name ? name : "?";
    d.cpu = arch::this_cpu();
    std::atomic_thread_fence(std::memory_order_release);
    d.handler = handler;
  }
  chip->enable(irq, arch::this_cpu());
  return {};
}

void free_irq(unsigned irq, void* data) {
  const IrqChip* chip = g_chip.load();
  if (!valid_line(chip, irq)) {
    pr_err("free_irq: bad line %u\n", irq);
    return;
  }
  IrqSpinLockGuard g(g_irq_lock);
  IrqDesc& d = g_irqs[irq];
  if (!d.handler || d.data != data) {
    pr_err("free_irq: line %u not requested with this cookie\n", irq);
    return;
  }
  chip->disable(irq);
  d.handler = nullptr;
  d.data = nullptr;
  d.name = nullptr;
}

Result<void> irq_set_affinity(unsigned irq, unsigned cpu) {
  const IrqChip* chip = g_chip.load();
  if (!valid_line(chip, irq) || !arch::cpu_online(cpu)) return Errno::kEINVAL;
  IrqSpinLockGuard g(g_irq_lock);
  IrqDesc& d = g_irqs[irq];
  if (!d.handler) return Errno::kEINVAL;
  chip->disable(irq);
  d.cpu = cpu;
  chip->enable(irq, cpu);
  return {};
}

void generic_handle_irq(unsigned irq) {
  if (irq >= kNrIrqs) {
    g_spurious.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  IrqDesc& d = g_irqs[irq];
  const irq_handler_t h = d.handler;
  std::atomic_thread_fence(std::memory_order_acquire);
  if (!h || h(irq, d.data) == IrqReturn::kNone) {
    g_spurious.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  d.count.fetch_add(1, std::memory_order_relaxed);
}

uint64_t irq_count(unsigned irq) {
  return irq < kNrIrqs ? g_irqs[irq].count.load(std::memory_order_relaxed) : 0;
}
uint64_t irq_spurious_count() { return g_spurious.load(std::memory_order_relaxed); }
const char* irq_name(unsigned irq) { return irq < kNrIrqs ? g_irqs[irq].name : nullptr; }
unsigned irq_cpu(unsigned irq) { return irq < kNrIrqs ? g_irqs[irq].cpu : 0; }

unsigned irq_smp_init() {
  if (!g_chip.load()) return 0;
  return arch::smp_call_others(enable_this_hart_cb, nullptr);
}

}  // namespace k

SHELL_COMMAND(interrupts, "device interrupt lines: number, count, CPU, name (/proc/interrupts)") {
  const k::IrqChip* chip = k::irq_chip();
  if (!chip) {
    k::printk_raw("no interrupt controller\n");
    return 0;
  }
  for (unsigned i = 1; i < k::kNrIrqs && i <= chip->nr_irqs; ++i) {
    const char* name = k::irq_name(i);
    if (!name && !k::irq_count(i)) continue;
    k::printk_raw("%4u: %10llu  %-8s CPU%u  %s\n", i,
                  static_cast<unsigned long long>(k::irq_count(i)), chip->name, k::irq_cpu(i),
                  name ? name : "(free)");
  }
  k::printk_raw("ERR: %10llu\n", static_cast<unsigned long long>(k::irq_spurious_count()));
  return 0;
}
