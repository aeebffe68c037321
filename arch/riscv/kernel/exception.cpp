// Exception routing: page faults and ecalls go to handlers that mm and the
// process layer register; everything else is an oops (trap.cpp).
#include <atomic>

#include "arch/riscv/kernel/irq.h"
#include "kernel/printk.h"

namespace arch {
namespace {

std::atomic<ExceptionHandler> g_page_fault_handler{nullptr};
std::atomic<ExceptionHandler> g_syscall_handler{nullptr};
std::atomic<ExceptionHandler> g_user_exception_handler{nullptr};
std::atomic<ExternalIrqHandler> g_external_irq_handler{nullptr};
std::atomic<ExceptionHandler> g_user_irq_return_handler{nullptr};

}  // namespace

void set_page_fault_handler(ExceptionHandler h) { g_page_fault_handler.store(h); }
void set_syscall_handler(ExceptionHandler h) { g_syscall_handler.store(h); }
void set_user_exception_handler(ExceptionHandler h) { g_user_exception_handler.store(h); }
void set_external_irq_handler(ExternalIrqHandler h) { g_external_irq_handler.store(h); }
void set_user_irq_return_handler(ExceptionHandler h) { g_user_irq_return_handler.store(h); }

void user_irq_return(TrapFrame& tf) {
  if (auto h = g_user_irq_return_handler.load()) h(tf);
}

bool handle_exception(TrapFrame& tf) {
  switch (tf.scause) {
    case kInstrPageFault:
    case kLoadPageFault:
    case kStorePageFault:
      if (auto h = g_page_fault_handler.load()) return h(tf);
      return false;
    case kEcallU:
      if (auto h = g_syscall_handler.load()) return h(tf);
      return false;
    default:
      if (auto h = g_user_exception_handler.load(); h && tf.from_user()) return h(tf);
      return false;
  }
}

void external_interrupt() {
  if (auto h = g_external_irq_handler.load()) {
    h();
    return;
  }
  // No interrupt controller driver: mask external interrupts on this hart
  // rather than take the same interrupt forever.
  asm volatile("csrc sie, %0" ::"r"(uint64_t{1} << 9));
  pr_warn("external interrupt with no interrupt controller driver; masked\n");
}

}  // namespace arch
