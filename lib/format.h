// printf-style formatting into a buffer, for printk and the shell.
// Supports the subset the kernel uses: flags '-' '0' '+' ' ' '#', width and
// precision (also '*'), length hh h l ll z j t, conversions d i u x X o c s
// p %. Never writes past `size`; always NUL-terminates when size > 0.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace k {

// Returns the length the full output would have (like vsnprintf).
size_t vsnformat(char* buf, size_t size, const char* fmt, va_list ap);
[[gnu::format(printf, 3, 4)]] size_t snformat(char* buf, size_t size, const char* fmt, ...);

}  // namespace k
