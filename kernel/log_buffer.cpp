#include "kernel/log_buffer.h"

#include "kernel/printk.h"
#include "kernel/shell.h"

namespace k::logbuf {

char g_log_buf[kSize];
uint64_t g_log_head;
uint64_t g_log_tail;
namespace {
uint64_t g_dropped;
}

uint64_t dropped_records() { return g_dropped; }

void append(int level, uint64_t ts_ns, const char* text, size_t len) {
  if (len > 0xffff) len = 0xffff;
  const size_t need = sizeof(Header) + len;
  if (need > kSize) return;
  // Make room: drop whole records from the tail.
  while (g_log_head + need - g_log_tail > kSize) {
    Header h;
    for (size_t i = 0; i < sizeof(h); ++i)
      reinterpret_cast<char*>(&h)[i] = g_log_buf[(g_log_tail + i) % kSize];
    g_log_tail += sizeof(h) + h.len;
    ++g_dropped;
  }
  Header h{ts_ns, static_cast<uint16_t>(len), static_cast<uint8_t>(level), {}};
  for (size_t i = 0; i < sizeof(h); ++i)
    g_log_buf[(g_log_head + i) % kSize] = reinterpret_cast<const char*>(&h)[i];
  g_log_head += sizeof(h);
  for (size_t i = 0; i < len; ++i) g_log_buf[(g_log_head + i) % kSize] = text[i];
  g_log_head += len;
}

}  // namespace k::logbuf

SHELL_COMMAND(dmesg, "print the kernel log buffer") {
  k::logbuf::for_each([](int level, uint64_t ts, const char* text, size_t n) {
    k::printk_raw(
        "<%d>[%5llu.%06llu] %.*s", level, static_cast<unsigned long long>(ts / 1000000000ull),
        static_cast<unsigned long long>((ts / 1000ull) % 1000000ull), static_cast<int>(n), text);
  });
  if (k::logbuf::dropped_records())
    k::printk_raw("(%llu older records were overwritten)\n",
                  static_cast<unsigned long long>(k::logbuf::dropped_records()));
  return 0;
}
