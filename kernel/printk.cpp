#include "kernel/printk.h"

#include <arch/cpu.h>
#include <arch/platform.h>

#include "kernel/console.h"
#include "kernel/log_buffer.h"
#include "kernel/panic.h"
#include "lib/format.h"
#include "lib/spinlock.h"

namespace k {
namespace {

// Serializes console output so lines from different harts stay whole.
// Rank: innermost; nothing is acquired while it is held.
SpinLock g_printk_lock;
int g_console_loglevel = 7;  // print everything but debug

class PrintkGuard {
 public:
  PrintkGuard() : flags_(arch::irq_save()) {
    // A panicking hart must get its message out even if another hart died
    // holding the lock.
    if (panic_in_progress()) {
      locked_ = g_printk_lock.try_lock();
      return;
    }
    g_printk_lock.lock();
    locked_ = true;
  }
  ~PrintkGuard() {
    if (locked_) g_printk_lock.unlock();
    arch::irq_restore(flags_);
  }

 private:
  unsigned long flags_;
  bool locked_ = false;
};

}  // namespace

void set_console_loglevel(int level) { g_console_loglevel = level; }

void vprintk(LogLevel level, const char* fmt, va_list ap) {
  char buf[512];
  const uint64_t ns = arch::uptime_ns();
  const size_t prefix = snformat(buf, sizeof(buf), "[%5llu.%06llu] ",
                                 static_cast<unsigned long long>(ns / 1000000000ull),
                                 static_cast<unsigned long long>((ns / 1000ull) % 1000000ull));
  size_t n = prefix + vsnformat(buf + prefix, sizeof(buf) - prefix, fmt, ap);
  if (n >= sizeof(buf)) n = sizeof(buf) - 1;
  PrintkGuard g;
  // Every message is kept, whatever the console level.
  logbuf::append(static_cast<int>(level), ns, buf + prefix, n - prefix);
  if (static_cast<int>(level) <= g_console_loglevel) console_write(buf, n);
}

void printk(LogLevel level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintk(level, fmt, ap);
  va_end(ap);
}

void printk_raw(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  size_t n = vsnformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n >= sizeof(buf)) n = sizeof(buf) - 1;
  PrintkGuard g;
  console_write(buf, n);
}

}  // namespace k
