// Periodic tick. The supervisor timer is programmed through SBI TIME
// (spec 6) or, when the hart has Sstc, directly through stimecmp (Sstc
// spec: writing stimecmp clears/raises STIP without a firmware call).
#include <atomic>

#include <arch/cpu.h>
#include <arch/percpu.h>
#include <arch/platform.h>

#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/irq.h"
#include "arch/riscv/kernel/sbi.h"
#include "arch/riscv/kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/timer.h"

namespace arch {
namespace {

uint64_t g_timebase_hz = 10000000;  // QEMU virt default until the DT says
uint64_t g_ticks_per_jiffy = 10000000 / k::kHz;
bool g_use_sstc;

DEFINE_PER_CPU(uint64_t, g_next_tick);
DEFINE_PER_CPU(uint64_t, g_tick_count);

void program(uint64_t when) {
  if (g_use_sstc)
    csr_write(0x14D, when);  // stimecmp
  else
    sbi::set_timer(when);
}

}  // namespace

uint64_t timebase_hz() { return g_timebase_hz; }

uint64_t uptime_ns() {
  const uint64_t t = arch::read_time();
  // Split to avoid overflow: whole seconds, then the remainder.
  return (t / g_timebase_hz) * 1000000000ull + (t % g_timebase_hz) * 1000000000ull / g_timebase_hz;
}

void timer_set_timebase(uint64_t hz, bool sstc) {
  if (hz) g_timebase_hz = hz;
  g_ticks_per_jiffy = g_timebase_hz / k::kHz;
  g_use_sstc = sstc;
}

bool timer_uses_sstc() { return g_use_sstc; }

void timer_start_this_hart() {
  const uint64_t now = arch::read_time();
  this_cpu_write(g_next_tick, now + g_ticks_per_jiffy);
  program(this_cpu_read(g_next_tick));
  csr_set(sie, kSieStie);
}

uint64_t cpu_ticks(unsigned cpu) { return per_cpu(g_tick_count, cpu); }

void timer_interrupt() {
  uint64_t next = this_cpu_read(g_next_tick) + g_ticks_per_jiffy;
  const uint64_t now = arch::read_time();
  // After a long stall (e.g. a debugger), skip missed ticks instead of
  // firing back-to-back.
  if (next <= now) next = now + g_ticks_per_jiffy;
  this_cpu_write(g_next_tick, next);
  program(next);
  ++this_cpu_read(g_tick_count);
  k::timer_tick();
}

}  // namespace arch
