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

// A SpinLock that counts its acquisitions: for the shared locks whose
// rate the allocator scaling benchmarks report (issue 8, "lock
// acquisitions per 1 000 operations"). The count moves with the lock
// held, so a relaxed load and store do (no atomic read-modify-write, no
// cache line beyond the lock's own); readers may see a slightly stale
// figure.
class CountingSpinLock {
 public:
  void lock() {
    lock_.lock();
    count();
  }
  bool try_lock() {
    if (!lock_.try_lock()) return false;
    count();
    return true;
  }
  void unlock() { lock_.unlock(); }
  bool is_locked() const { return lock_.is_locked(); }
  uint64_t acquisitions() const { return acquisitions_.load(std::memory_order_relaxed); }

 private:
  void count() {
    acquisitions_.store(acquisitions_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  }
  SpinLock lock_;
  std::atomic<uint64_t> acquisitions_{0};
};

// The guards take either lock type (deduced: `IrqSpinLockGuard g(lock);`).
template <typename Lock>
class SpinLockGuard {
 public:
  explicit SpinLockGuard(Lock& l) : l_(l) { l_.lock(); }
  ~SpinLockGuard() { l_.unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  Lock& l_;
};

template <typename Lock>
class IrqSpinLockGuard {
 public:
  explicit IrqSpinLockGuard(Lock& l) : l_(l), flags_(arch::irq_save()) { l_.lock(); }
  ~IrqSpinLockGuard() {
    l_.unlock();
    arch::irq_restore(flags_);
  }
  IrqSpinLockGuard(const IrqSpinLockGuard&) = delete;
  IrqSpinLockGuard& operator=(const IrqSpinLockGuard&) = delete;

 private:
  Lock& l_;
  unsigned long flags_;
};

}  // namespace k
