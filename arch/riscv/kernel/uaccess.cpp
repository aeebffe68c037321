// C++ side of the user access primitives (see uaccess.h): range checks,
// page-by-page fault-in, zeroing on failure.
#include "arch/riscv/kernel/uaccess.h"

#include <atomic>
#include <cstring>

#include <arch/user_pgtable.h>

#include "lib/types.h"

extern "C" {
size_t __arch_copy_user(void* dst, const void* src, size_t n);
long __arch_strncpy_user(char* dst, const char* src, size_t n);
size_t __arch_clear_user(void* dst, size_t n);
extern char __arch_uaccess_start[], __arch_uaccess_end[];
}

namespace arch {
namespace {

std::atomic<FaultInFn> g_fault_in{nullptr};

bool fault_in(uint64_t addr, bool write) {
  FaultInFn fn = g_fault_in.load(std::memory_order_acquire);
  return fn && fn(addr, write);
}

// Runs op(offset, chunk) over [addr, addr+len) one page at a time after
// faulting that page in; returns the bytes not done.
template <typename Op>
size_t by_page(uint64_t addr, size_t len, bool write, Op&& op) {
  size_t done = 0;
  while (done < len) {
    const uint64_t a = addr + done;
    size_t chunk = k::kPageSize - (a & (k::kPageSize - 1));
    if (chunk > len - done) chunk = len - done;
    if (!fault_in(a, write)) return len - done;
    const size_t left = op(done, chunk);
    if (left) return len - done - (chunk - left);
    done += chunk;
  }
  return 0;
}

}  // namespace

void set_uaccess_fault_in(FaultInFn fn) { g_fault_in.store(fn, std::memory_order_release); }

bool access_ok(uint64_t addr, size_t len) {
  const uint64_t top = user_task_size();
  return addr <= top && len <= top - addr;
}

size_t fault_in_writeable(uint64_t addr, size_t len) {
  if (!access_ok(addr, len)) return len;
  return by_page(addr, len, true, [](size_t, size_t) { return size_t{0}; });
}

size_t copy_from_user(void* dst, uint64_t user_src, size_t len) {
  auto* d = static_cast<uint8_t*>(dst);
  size_t left = len;
  if (access_ok(user_src, len))
    left = by_page(user_src, len, false, [&](size_t off, size_t n) {
      return __arch_copy_user(d + off, reinterpret_cast<const void*>(user_src + off), n);
    });
  if (left) memset(d + (len - left), 0, left);
  return left;
}

size_t copy_to_user(uint64_t user_dst, const void* src, size_t len) {
  if (!access_ok(user_dst, len)) return len;
  const auto* s = static_cast<const uint8_t*>(src);
  return by_page(user_dst, len, true, [&](size_t off, size_t n) {
    return __arch_copy_user(reinterpret_cast<void*>(user_dst + off), s + off, n);
  });
}

size_t clear_user(uint64_t user_dst, size_t len) {
  if (!access_ok(user_dst, len)) return len;
  return by_page(user_dst, len, true, [&](size_t off, size_t n) {
    return __arch_clear_user(reinterpret_cast<void*>(user_dst + off), n);
  });
}

k::Result<size_t> strncpy_from_user(char* dst, uint64_t user_src, size_t len) {
  size_t done = 0;
  while (done < len) {
    const uint64_t a = user_src + done;
    size_t chunk = k::kPageSize - (a & (k::kPageSize - 1));
    if (chunk > len - done) chunk = len - done;
    if (!access_ok(a, chunk) || !fault_in(a, false)) return k::Errno::kEFAULT;
    const long n = __arch_strncpy_user(dst + done, reinterpret_cast<const char*>(a), chunk);
    if (n < 0) return k::Errno::kEFAULT;
    if (static_cast<size_t>(n) < chunk) return done + static_cast<size_t>(n);
    done += chunk;
  }
  return len;
}

bool in_uaccess_routine(uint64_t pc) {
  return pc >= reinterpret_cast<uint64_t>(__arch_uaccess_start) &&
         pc < reinterpret_cast<uint64_t>(__arch_uaccess_end);
}

}  // namespace arch
