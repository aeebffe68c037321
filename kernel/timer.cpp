#include "kernel/timer.h"

#include <atomic>

#include <arch/cpu.h>

#include "kernel/sched/sched.h"

namespace k {
namespace {
std::atomic<uint64_t> g_jiffies{0};
}

void timer_tick() {
  if (arch::this_cpu() == 0) g_jiffies.fetch_add(1, std::memory_order_relaxed);
  sched_tick();  // time slices, timed sleepers, preemption of user code
}

uint64_t jiffies() { return g_jiffies.load(std::memory_order_relaxed); }

}  // namespace k
