// Host fakes of kernel services that host-compiled code links against:
// printk (to stdout and into a buffer tests can inspect), the arch layout
// and the current-cpu id (tests/host/include/arch/*.h).
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

#include <arch/cpu.h>
#include <arch/memory.h>

#include "kernel/printk.h"

namespace host {
// Everything printk wrote since the last clear; guarded by g_log_mutex.
std::string g_log;
std::mutex g_log_mutex;
// Set to false to keep printk output off stdout (it is still captured).
std::atomic<bool> g_log_echo{true};

std::string log_text() {
  std::lock_guard<std::mutex> g(g_log_mutex);
  return g_log;
}
void log_clear() {
  std::lock_guard<std::mutex> g(g_log_mutex);
  g_log.clear();
}
}  // namespace host

namespace {
void emit(const char* prefix, const char* fmt, va_list ap) {
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  std::lock_guard<std::mutex> g(host::g_log_mutex);
  host::g_log += prefix;
  host::g_log += buf;
  if (host::g_log_echo.load()) {
    fputs(prefix, stdout);
    fputs(buf, stdout);
  }
}
const char* level_prefix(k::LogLevel l) {
  static const char* const names[] = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"};
  const int i = static_cast<int>(l);
  return i >= 0 && i < 8 ? names[i] : "<?>";
}
}  // namespace

namespace k {
namespace {
std::atomic<int> g_console_loglevel{8};
}  // namespace
// Above this level messages are still captured but not echoed.
void set_console_loglevel(int level) { g_console_loglevel.store(level); }

void vprintk(LogLevel level, const char* fmt, va_list ap) { emit(level_prefix(level), fmt, ap); }
void printk(LogLevel level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintk(level, fmt, ap);
  va_end(ap);
}
void printk_raw(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("", fmt, ap);
  va_end(ap);
}
}  // namespace k

namespace arch {
Layout g_layout{};

namespace {
thread_local unsigned t_this_cpu = 0;
std::atomic<unsigned> g_nr_cpus{1};
}  // namespace

unsigned this_cpu() { return t_this_cpu; }
unsigned nr_cpus() { return g_nr_cpus.load(); }
void set_this_cpu(unsigned cpu) { t_this_cpu = cpu; }
void set_nr_cpus(unsigned n) { g_nr_cpus.store(n); }
}  // namespace arch
