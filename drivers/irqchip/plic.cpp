// PLIC driver. Register map (PLIC spec 1.0.0, chapter 3 "Memory Map"):
//   0x000000 + 4*src           source priority (0 = never interrupts)
//   0x001000                   pending bits
//   0x002000 + 0x80*ctx        enable bits for context ctx (1 bit/source)
//   0x200000 + 0x1000*ctx      priority threshold
//   0x200004 + 0x1000*ctx      claim (read) / complete (write)
#include "drivers/irqchip/plic.h"

#include <arch/cpu.h>
#include <arch/io.h>

#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/irq.h"
#include "arch/riscv/kernel/smp.h"
#include "drivers/driver.h"
#include "kernel/irq.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "mm/ioremap.h"
#include "mm/kmalloc.h"

namespace k {
namespace {

constexpr uint64_t kPriorityBase = 0x0;
constexpr uint64_t kEnableBase = 0x2000;
constexpr uint64_t kEnableStride = 0x80;
constexpr uint64_t kContextBase = 0x200000;
constexpr uint64_t kContextStride = 0x1000;
constexpr uint64_t kThreshold = 0x0;
constexpr uint64_t kClaim = 0x4;
// Supervisor external interrupt number in `interrupts-extended` of the
// hart-local controllers (Privileged spec table 4.2).
constexpr uint32_t kIrqSExternal = 9;
// Spec: at most 1023 sources, 15872 contexts.
constexpr uint32_t kMaxSources = 1023;
constexpr uint32_t kMaxContexts = 15872;

struct Plic {
  volatile uint8_t* regs = nullptr;
  uint64_t size = 0;
  uint32_t nr_sources = 0;
  int* ctx_of_cpu = nullptr;  // [arch::nr_cpus()], -1 = none
  SpinLock enable_lock;       // read-modify-write of enable words
};
Plic g_plic;

volatile uint32_t* reg32(uint64_t off) {
  return reinterpret_cast<volatile uint32_t*>(g_plic.regs + off);
}
volatile uint32_t* enable_word(int ctx, unsigned irq) {
  return reg32(kEnableBase + kEnableStride * static_cast<uint64_t>(ctx) + 4 * (irq / 32));
}

void set_enable(int ctx, unsigned irq, bool on) {
  IrqSpinLockGuard g(g_plic.enable_lock);
  volatile uint32_t* w = enable_word(ctx, irq);
  const uint32_t bit = 1u << (irq % 32);
  const uint32_t v = arch::readl(w);
  arch::writel(on ? (v | bit) : (v & ~bit), w);
}

void plic_enable(unsigned irq, unsigned cpu) {
  const int ctx = plic_context_of_cpu(cpu);
  if (ctx < 0) {
    pr_err("plic: CPU %u has no S-mode context; line %u stays masked\n", cpu, irq);
    return;
  }
  arch::writel(1, reg32(kPriorityBase + 4 * irq));
  set_enable(ctx, irq, true);
}

void plic_disable(unsigned irq) {
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu)
    if (const int ctx = plic_context_of_cpu(cpu); ctx >= 0) set_enable(ctx, irq, false);
  arch::writel(0, reg32(kPriorityBase + 4 * irq));
}

void plic_enable_this_hart() {
  const int ctx = plic_context_of_cpu(arch::this_cpu());
  if (ctx < 0) return;
  arch::writel(0, reg32(kContextBase + kContextStride * static_cast<uint64_t>(ctx) + kThreshold));
  csr_set(sie, arch::kSieSeie);
}

// Claims until the context has nothing pending (spec 7 "Interrupt
// Claim Process"); completion re-arms the gateway for the source.
void plic_handle() {
  const int ctx = plic_context_of_cpu(arch::this_cpu());
  if (ctx < 0) {
    csr_clear(sie, arch::kSieSeie);
    pr_err("plic: external interrupt on CPU %u without a context; masked\n", arch::this_cpu());
    return;
  }
  volatile uint32_t* claim =
      reg32(kContextBase + kContextStride * static_cast<uint64_t>(ctx) + kClaim);
  for (uint32_t id = arch::readl(claim); id != 0; id = arch::readl(claim)) {
    generic_handle_irq(id);
    arch::writel(id, claim);
  }
}

const IrqChip kPlicChip{"PLIC", 0, plic_enable, plic_disable, plic_enable_this_hart};
IrqChip g_chip_desc;

void enable_cb(void*) { plic_enable_this_hart(); }

// Hart id of the cpu node holding the hart-local interrupt controller with
// this phandle (Linux riscv,cpu-intc binding: the controller is a child of
// its cpu node).
std::optional<uint64_t> hart_of_intc(const fdt::Fdt& fdt, uint32_t phandle) {
  auto intc = fdt.find_by_phandle(phandle);
  if (!intc) return std::nullopt;
  auto cpu = intc->parent();
  if (!cpu) return std::nullopt;
  auto reg = fdt.reg(*cpu, 0);
  if (!reg) return std::nullopt;
  return reg->addr;
}

bool plic_probe(const fdt::Fdt& fdt, const fdt::Node& node) {
  if (g_plic.regs) {
    pr_warn("plic: a second PLIC is not supported; %.*s ignored\n",
            static_cast<int>(node.name().size()), node.name().data());
    return false;
  }
  auto reg = fdt.reg_translated(node, 0);
  auto ndev = node.prop("riscv,ndev");
  auto ie = node.prop("interrupts-extended");
  if (!reg || !ndev || !ndev->u32() || !ie) {
    pr_err("plic: %.*s lacks reg, riscv,ndev or interrupts-extended\n",
           static_cast<int>(node.name().size()), node.name().data());
    return false;
  }
  const uint32_t nr = *ndev->u32();
  if (nr == 0 || nr > kMaxSources) {
    pr_err("plic: riscv,ndev = %u out of range\n", nr);
    return false;
  }
  const unsigned ncpu = arch::nr_cpus();
  int* map = static_cast<int*>(kmalloc_array(ncpu, sizeof(int), GFP_KERNEL));
  if (!map) return false;
  for (unsigned i = 0; i < ncpu; ++i) map[i] = -1;
  // interrupts-extended: (phandle, irq) pairs, one per context; the
  // cpu-intc's #interrupt-cells is 1.
  const size_t pairs = ie->size() / 8;
  uint32_t nctx = 0;
  for (size_t i = 0; i < pairs && i < kMaxContexts; ++i) {
    auto ph = ie->u32(2 * i);
    auto irq = ie->u32(2 * i + 1);
    if (!ph || !irq) break;
    nctx = static_cast<uint32_t>(i + 1);
    if (*irq != kIrqSExternal) continue;
    auto hart = hart_of_intc(fdt, *ph);
    if (!hart) continue;
    const int cpu = arch::hart_to_cpu(*hart);
    if (cpu >= 0 && map[cpu] < 0) map[cpu] = static_cast<int>(i);
  }
  if (map[arch::this_cpu()] < 0) {
    pr_err("plic: no S-mode context for the boot hart\n");
    kfree(map);
    return false;
  }
  const uint64_t need = kContextBase + kContextStride * nctx;
  void* regs = ioremap(PhysAddr(reg->addr), reg->size < need ? reg->size : need);
  if (!regs || reg->size < need) {
    pr_err("plic: cannot map %#llx (+%#llx, need %#llx)\n",
           static_cast<unsigned long long>(reg->addr), static_cast<unsigned long long>(reg->size),
           static_cast<unsigned long long>(need));
    if (regs) iounmap(regs);
    kfree(map);
    return false;
  }
  g_plic.regs = static_cast<volatile uint8_t*>(regs);
  g_plic.size = reg->size;
  g_plic.nr_sources = nr;
  g_plic.ctx_of_cpu = map;

  // Every line masked and at priority 0 until requested; every S-mode
  // context of ours accepts any priority above 0.
  for (unsigned cpu = 0; cpu < ncpu; ++cpu) {
    const int ctx = map[cpu];
    if (ctx < 0) continue;
    for (uint32_t w = 0; w <= nr / 32; ++w)
      arch::writel(0, reg32(kEnableBase + kEnableStride * static_cast<uint64_t>(ctx) + 4 * w));
    arch::writel(0, reg32(kContextBase + kContextStride * static_cast<uint64_t>(ctx) + kThreshold));
  }
  for (uint32_t src = 1; src <= nr; ++src) arch::writel(0, reg32(kPriorityBase + 4 * src));

  g_chip_desc = kPlicChip;
  g_chip_desc.nr_irqs = nr;
  irq_set_chip(&g_chip_desc);
  arch::set_external_irq_handler(plic_handle);
  plic_enable_this_hart();
  const unsigned others = arch::smp_call_others(enable_cb, nullptr);
  unsigned with_ctx = 0;
  for (unsigned cpu = 0; cpu < ncpu; ++cpu) with_ctx += map[cpu] >= 0;
  pr_info("plic: %u sources, %u contexts, %u of %u CPUs have an S-mode context (%u enabled now)\n",
          nr, nctx, with_ctx, ncpu, 1 + others);
  return true;
}

const char* const kCompat[] = {"riscv,plic0", "sifive,plic-1.0.0", nullptr};

}  // namespace

unsigned plic_nr_sources() { return g_plic.nr_sources; }

int plic_context_of_cpu(unsigned cpu) {
  if (!g_plic.ctx_of_cpu || cpu >= arch::nr_cpus()) return -1;
  return g_plic.ctx_of_cpu[cpu];
}

uint32_t plic_priority(unsigned irq) {
  if (!g_plic.regs || irq == 0 || irq > g_plic.nr_sources) return 0;
  return arch::readl(reg32(kPriorityBase + 4 * irq));
}

bool plic_enabled_on(unsigned irq, unsigned cpu) {
  const int ctx = plic_context_of_cpu(cpu);
  if (ctx < 0 || irq == 0 || irq > g_plic.nr_sources) return false;
  return arch::readl(enable_word(ctx, irq)) & (1u << (irq % 32));
}

uint32_t plic_threshold(unsigned cpu) {
  const int ctx = plic_context_of_cpu(cpu);
  if (ctx < 0) return ~0u;
  return arch::readl(
      reg32(kContextBase + kContextStride * static_cast<uint64_t>(ctx) + kThreshold));
}

}  // namespace k

DECLARE_DRIVER(plic, "plic", k::kCompat, k::plic_probe, 2);
