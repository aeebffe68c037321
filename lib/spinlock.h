// Spinlocks with scoped guards (STYLE.md: locks are scoped).
//
// SpinLock is a ticket-free test-and-test-and-set lock; IrqSpinLockGuard
// also masks interrupts on this hart for the critical section, for data that
// interrupt handlers touch. Each lock's rank is written where it is declared.
#pragma once

#include <atomic>
#include <cstdint>

#include <arch/cpu.h>

namespace k {

class SpinLock {
 public:
  void lock() {
    for (;;) {
      if (!locked_.exchange(1, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) arch::cpu_relax();
    }
  }
  bool try_lock() { return !locked_.exchange(1, std::memory_order_acquire); }
  void unlock() { locked_.store(0, std::memory_order_release); }
  bool is_locked() const { return locked_.load(std::memory_order_relaxed) != 0; }

 private:
  // A word, not a bool: RV64A has no byte-sized AMOs.
  std::atomic<uint32_t> locked_{0};
};

class SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& l) : l_(l) { l_.lock(); }
  ~SpinLockGuard() { l_.unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& l_;
};

class IrqSpinLockGuard {
 public:
  explicit IrqSpinLockGuard(SpinLock& l) : l_(l), flags_(arch::irq_save()) { l_.lock(); }
  ~IrqSpinLockGuard() {
    l_.unlock();
    arch::irq_restore(flags_);
  }
  IrqSpinLockGuard(const IrqSpinLockGuard&) = delete;
  IrqSpinLockGuard& operator=(const IrqSpinLockGuard&) = delete;

 private:
  SpinLock& l_;
  unsigned long flags_;
};

}  // namespace k
