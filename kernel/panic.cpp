#include "kernel/panic.h"

#include <atomic>
#include <cstdarg>

#include <arch/platform.h>

#include "arch/riscv/kernel/trap.h"
#include "kernel/boot_info.h"
#include "kernel/printk.h"
#include "lib/format.h"

namespace k {
namespace {
std::atomic<bool> g_panicking{false};
}

bool panic_in_progress() { return g_panicking.load(std::memory_order_relaxed); }

void panic(const char* fmt, ...) {
  const bool first = !g_panicking.exchange(true);
  if (!first) arch::halt_this_hart();  // one hart reports; the others stop
  arch::stop_other_harts();
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  pr_emerg("Kernel panic - not syncing: %s\n", msg);
  // Start at panic()'s caller: the call site, then the caller's frame.
  const auto* frame = static_cast<const uint64_t*>(__builtin_frame_address(0));
  arch::print_backtrace(frame[-2], reinterpret_cast<uint64_t>(__builtin_return_address(0)) - 1);
  if (boot_params().power_off_after_tests) {
    pr_emerg("---[ end Kernel panic: powering off with failure status ]---\n");
    arch::power_off(true);
  }
  pr_emerg("---[ end Kernel panic - not syncing: %s ]---\n", msg);
  arch::halt_this_hart();
}

}  // namespace k
