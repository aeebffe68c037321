// Self-tests of the arch layer: paging mode and W^X of the kernel image,
// exception fixups, per-CPU areas, cross-calls (IPIs) and the tick.
#include <atomic>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/percpu.h>
#include <arch/platform.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/smp.h"
#include "arch/riscv/kernel/trap.h"
#include "kernel/selftest.h"

extern "C" char _stext[], _srodata[];

namespace {

const uint32_t kRetInsn[4] alignas(16) = {0x00008067, 0x00008067, 0x00008067, 0x00008067};
uint32_t g_data_insn[4] alignas(16);

}  // namespace

SELFTEST(paging, satp_mode_matches_chosen_layout) {
  const uint64_t satp = csr_read(satp);
  KEXPECT_EQ(satp >> 60, arch::g_layout.levels + 5);
  KEXPECT_EQ((satp & ((uint64_t{1} << 44) - 1)) << 12, arch::g_early_boot.root_table.value());
  t.diag("mode Sv%u, root table at 0x%llx", arch::g_layout.levels == 4 ? 48 : 39,
         static_cast<unsigned long long>(arch::g_early_boot.root_table.value()));
}

SELFTEST(paging, kernel_text_is_readable_and_executable_not_writable) {
  KEXPECT(!arch::probe_read(_stext));
  KEXPECT(arch::probe_write(_stext));
  // kRetInsn lives in .rodata: readable, neither writable nor executable.
  KEXPECT(!arch::probe_read(kRetInsn));
  KEXPECT(arch::probe_write(const_cast<uint32_t*>(kRetInsn)));
  KEXPECT(arch::probe_exec(kRetInsn));
}

SELFTEST(paging, data_and_stack_are_not_executable) {
  // A `ret` in .data and on the stack: if either were executable the probe
  // would return without faulting.
  for (auto& w : g_data_insn) w = 0x00008067;
  KEXPECT(!arch::probe_write(g_data_insn));
  KEXPECT(arch::probe_exec(g_data_insn));
  volatile uint32_t on_stack[4] = {0x00008067, 0x00008067, 0x00008067, 0x00008067};
  KEXPECT(arch::probe_exec(const_cast<uint32_t*>(on_stack)));
}

SELFTEST(paging, user_half_and_holes_fault) {
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(0x1000)));
  // Just below the linear map: an unmapped kernel address.
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(arch::g_layout.linear_base - 4096)));
}

SELFTEST(paging, linear_map_reaches_the_kernel_image) {
  // The same byte through the image mapping and through the linear map.
  const auto pa = arch::virt_to_phys(kRetInsn);
  const auto* alias = static_cast<const uint32_t*>(arch::phys_to_virt(pa));
  KEXPECT(alias != kRetInsn);
  KEXPECT_EQ(alias[0], kRetInsn[0]);
}

namespace {

DEFINE_PER_CPU(uint64_t, g_test_counter);

struct WhoAmI {
  std::atomic<uint64_t> cpu;
  std::atomic<uint64_t> hartid;
};

void record_self(void* arg) {
  auto* w = static_cast<WhoAmI*>(arg);
  w->cpu.store(arch::this_cpu());
  w->hartid.store(arch::cpu_block()->hartid);
  ++this_cpu_read(g_test_counter);
}

}  // namespace

SELFTEST(smp, every_cpu_is_online) {
  KEXPECT_EQ(arch::nr_online_cpus(), arch::nr_cpus());
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) KEXPECT(arch::cpu_online(cpu));
  t.diag("%u CPUs online", arch::nr_online_cpus());
}

SELFTEST(smp, cross_call_runs_on_the_target_cpu_with_its_own_percpu_area) {
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu) {
    const uint64_t ipis = arch::cpu_ipi_count(cpu);
    const uint64_t before = per_cpu(g_test_counter, cpu);
    WhoAmI w;
    w.cpu = ~0ull;
    KASSERT(arch::smp_call_on(cpu, record_self, &w));
    KEXPECT_EQ(w.cpu.load(), cpu);
    KEXPECT_EQ(w.hartid.load(), arch::cpu_info(cpu).hartid);
    KEXPECT_EQ(per_cpu(g_test_counter, cpu), before + 1);
    if (cpu != arch::this_cpu()) KEXPECT(arch::cpu_ipi_count(cpu) > ipis);
  }
  // The per-CPU copies are distinct memory.
  for (unsigned a = 0; a < arch::nr_cpus(); ++a)
    for (unsigned b = a + 1; b < arch::nr_cpus(); ++b)
      KEXPECT(per_cpu_ptr(&g_test_counter, a) != per_cpu_ptr(&g_test_counter, b));
}

SELFTEST(smp, tp_points_at_this_cpus_block) {
  arch::CpuBlock* b = arch::cpu_block();
  KEXPECT(b == b->self);
  KEXPECT(b == arch::cpu_block_of(arch::this_cpu()));
  KEXPECT_EQ(csr_read(sscratch), 0u);
}

SELFTEST(timer, every_cpu_ticks) {
  uint64_t before[64];
  const unsigned n = arch::nr_cpus() < 64 ? arch::nr_cpus() : 64;
  for (unsigned c = 0; c < n; ++c) before[c] = arch::cpu_ticks(c);
  // Wait 50 ms of timebase (5 ticks at 100 Hz).
  const uint64_t end = arch::read_time() + arch::timebase_hz() / 20;
  while (arch::read_time() < end) arch::cpu_relax();
  for (unsigned c = 0; c < n; ++c) {
    if (arch::cpu_ticks(c) <= before[c]) t.diag("CPU%u did not tick", c);
    KEXPECT(arch::cpu_ticks(c) > before[c]);
  }
}

SELFTEST(timer, uptime_is_monotonic) {
  uint64_t last = arch::uptime_ns();
  for (int i = 0; i < 1000; ++i) {
    const uint64_t now = arch::uptime_ns();
    KEXPECT(now >= last);
    last = now;
  }
}

extern "C" char __init_begin[], __init_end[];

SELFTEST(paging, init_sections_are_unmapped_after_boot) {
  const uint64_t begin = reinterpret_cast<uint64_t>(__init_begin);
  const uint64_t end = reinterpret_cast<uint64_t>(__init_end);
  if (end == begin) return t.skip("no init sections");
  KEXPECT(arch::probe_read(reinterpret_cast<const void*>(begin)));
  KEXPECT(arch::probe_read(reinterpret_cast<const void*>(end - 1)));
}
