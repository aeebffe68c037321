// Fatal errors. panic() prints "Kernel panic - not syncing: <msg>" (the
// line the QEMU harness looks for), dumps a backtrace, stops the other
// harts and powers off with a failure status when the kernel runs its
// self-tests (selftest.exit=1), so a test run never hangs.
#pragma once

namespace k {

[[noreturn, gnu::format(printf, 1, 2)]] void panic(const char* fmt, ...);

// True once a panic started on any hart (consoles bypass their locks).
bool panic_in_progress();

}  // namespace k

#define BUG_ON(cond)                                                \
  do {                                                              \
    if (__builtin_expect(!!(cond), 0))                              \
      ::k::panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); \
  } while (0)
