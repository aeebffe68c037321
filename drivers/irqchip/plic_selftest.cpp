// PLIC and request_irq self-tests: registration errors, what the
// controller's registers say after request/free, external interrupts
// enabled on every online hart.
#include <arch/cpu.h>

#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/smp.h"
#include "drivers/irqchip/plic.h"
#include "kernel/irq.h"
#include "kernel/selftest.h"

namespace {

k::IrqReturn dummy(unsigned, void*) { return k::IrqReturn::kHandled; }

void read_sie(void* out) { *static_cast<uint64_t*>(out) = csr_read(sie); }

}  // namespace

using namespace k;

SELFTEST(irq, request_irq_rejects_bad_requests) {
  if (!irq_chip()) return t.skip("no interrupt controller");
  const unsigned nr = irq_chip()->nr_irqs;
  KEXPECT_EQ(request_irq(0, dummy, nullptr, "t").error(), Errno::kEINVAL);
  KEXPECT_EQ(request_irq(nr + 1, dummy, nullptr, "t").error(), Errno::kEINVAL);
  KEXPECT_EQ(request_irq(nr, nullptr, nullptr, "t").error(), Errno::kEINVAL);
}

SELFTEST(irq, request_and_free_program_the_plic) {
  if (!plic_nr_sources()) return t.skip("no PLIC");
  // A high source no QEMU virt device uses. Not the highest: QEMU 7.2's
  // riscv,ndev counts source 0, so id ndev itself has no enable bit.
  const unsigned line = plic_nr_sources() - 1;
  if (irq_name(line)) return t.skip("highest line in use");
  int cookie;
  KASSERT(request_irq(line, dummy, &cookie, "selftest").ok());
  KEXPECT_EQ(plic_priority(line), 1u);
  KEXPECT(plic_enabled_on(line, arch::this_cpu()));
  KEXPECT_EQ(request_irq(line, dummy, &cookie, "again").error(), Errno::kEBUSY);
  if (arch::nr_online_cpus() > 1) {
    const unsigned other = arch::this_cpu() == 0 ? 1 : 0;
    if (plic_context_of_cpu(other) >= 0 && irq_set_affinity(line, other).ok()) {
      KEXPECT(plic_enabled_on(line, other));
      KEXPECT(!plic_enabled_on(line, arch::this_cpu()));
    }
  }
  free_irq(line, &cookie);
  KEXPECT_EQ(plic_priority(line), 0u);
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) KEXPECT(!plic_enabled_on(line, cpu));
  KEXPECT(irq_name(line) == nullptr);
}

SELFTEST(irq, external_interrupts_enabled_on_every_hart_the_plic_serves) {
  if (!plic_nr_sources()) return t.skip("no PLIC");
  const unsigned online = arch::nr_online_cpus();
  KEXPECT_EQ(irq_smp_init(), online - 1);
  unsigned checked = 0, served = 0;
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu)
    if (arch::cpu_online(cpu) && plic_context_of_cpu(cpu) >= 0) ++served;
  // QEMU virt with NUMA sockets has one PLIC per socket; the driver takes
  // the first, whose contexts cover the harts of socket 0 (where the
  // devices' interrupts are wired).
  if (served < online) t.diag("%u of %u online CPUs have a context in this PLIC", served, online);
  KEXPECT(served >= 1);
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) {
    if (!arch::cpu_online(cpu) || plic_context_of_cpu(cpu) < 0) continue;
    uint64_t sie = 0;
    KEXPECT(arch::smp_call_on(cpu, read_sie, &sie));
    KEXPECT(sie & arch::kSieSeie);
    KEXPECT_EQ(plic_threshold(cpu), 0u);
    ++checked;
  }
  KEXPECT_EQ(checked, served);
}
