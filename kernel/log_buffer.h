// The kernel log ring buffer: every printk line is kept (newest win when
// full) with its level and timestamp, so `dmesg` in the shell and the GDB
// helpers can show early messages long after they scrolled by.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k::logbuf {

// Appends one formatted line (the printk lock is held by the caller).
void append(int level, uint64_t ts_ns, const char* text, size_t len);

// Calls f(level, ts_ns, text, len) for every stored record, oldest first.
template <typename F>
void for_each(F f);

struct Header {
  uint64_t ts_ns;
  uint16_t len;  // text bytes following the header
  uint8_t level;
  uint8_t pad[5];
};

// Exposed for the GDB helpers (tools/gdb): the ring and its cursors.
inline constexpr size_t kSize = 64 * 1024;
extern char g_log_buf[kSize];
extern uint64_t g_log_head;  // total bytes ever written (next write position mod kSize)
extern uint64_t g_log_tail;  // oldest byte still valid

uint64_t dropped_records();

template <typename F>
void for_each(F f) {
  uint64_t pos = g_log_tail;
  char text[512];
  while (pos + sizeof(Header) <= g_log_head) {
    Header h;
    for (size_t i = 0; i < sizeof(h); ++i)
      reinterpret_cast<char*>(&h)[i] = g_log_buf[(pos + i) % kSize];
    pos += sizeof(h);
    const size_t n = h.len < sizeof(text) ? h.len : sizeof(text);
    for (size_t i = 0; i < n; ++i) text[i] = g_log_buf[(pos + i) % kSize];
    pos += h.len;
    f(h.level, h.ts_ns, text, n);
  }
}

}  // namespace k::logbuf
