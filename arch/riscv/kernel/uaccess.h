// Kernel access to user memory (Linux include/linux/uaccess.h names).
//
// Every function checks the range against the user half (TASK_SIZE:
// arch::user_task_size()), makes each page present through the fault-in
// hook that mm registers (the trap dispatcher tries __ex_table fixups
// before the page-fault handler, so a not-yet-touched page is faulted in
// here first, like Linux's fault_in_*_pages()), and then copies with
// sstatus.SUM set only inside the assembly routines (uaccess.S), whose
// faults resume at a fixup. A bad pointer is EFAULT; copy_from_user zeroes
// what it could not copy. A kernel access to a user address outside these
// routines faults with SUM clear and is an oops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lib/result.h"

namespace arch {

// Makes the page holding `addr` present with the access allowed, or
// returns false (not mapped / not allowed / out of memory).
using FaultInFn = bool (*)(uint64_t addr, bool write);
void set_uaccess_fault_in(FaultInFn fn);

// Whether [addr, addr+len) lies in the user half (no wrap).
bool access_ok(uint64_t addr, size_t len);

// Makes [addr, addr+len) present and writable (Linux
// fault_in_writeable()); returns the bytes that could not be.
size_t fault_in_writeable(uint64_t addr, size_t len);

// Bytes NOT copied (0 on success); Linux semantics.
size_t copy_from_user(void* dst, uint64_t user_src, size_t len);
size_t copy_to_user(uint64_t user_dst, const void* src, size_t len);
size_t clear_user(uint64_t user_dst, size_t len);

// Copies a NUL-terminated string of at most len bytes (the NUL included)
// into dst: its length without the NUL, or len when no NUL was found
// within len bytes (dst is then not terminated), or EFAULT.
k::Result<size_t> strncpy_from_user(char* dst, uint64_t user_src, size_t len);

template <typename T>
k::Result<T> get_user(uint64_t user_src) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v{};
  if (copy_from_user(&v, user_src, sizeof(T))) return k::Errno::kEFAULT;
  return v;
}

template <typename T>
k::Result<void> put_user(const T& v, uint64_t user_dst) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (copy_to_user(user_dst, &v, sizeof(T))) return k::Errno::kEFAULT;
  return {};
}

// Whether a fault at `pc` happened inside the uaccess routines (the page
// fault handler uses it to tell a bad user pointer from a kernel bug).
bool in_uaccess_routine(uint64_t pc);

}  // namespace arch
