// Host fake of kernel/panic.h: prints the Linux panic line to stderr and
// aborts, so host tests can check fatal paths with EXPECT_DEATH.
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "kernel/panic.h"

namespace k {
namespace {
std::atomic<bool> g_panicking{false};
}  // namespace

void panic(const char* fmt, ...) {
  g_panicking.store(true);
  std::fflush(stdout);
  va_list ap;
  va_start(ap, fmt);
  std::fputs("Kernel panic - not syncing: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::abort();
}

bool panic_in_progress() { return g_panicking.load(); }
}  // namespace k
