// Kernel log: printk with Linux's levels, timestamps from the `time` CSR.
//
//   pr_info("Memory: %lluK available\n", kib);
//
// Output goes to every registered console (early SBI console first, then
// the UART named by /chosen/stdout-path). The host build links a fake that
// captures the text (tests/host/fake_printk.cpp).
#pragma once

#include <cstdarg>
#include <cstddef>

namespace k {

enum class LogLevel : int { kEmerg = 0, kAlert, kCrit, kErr, kWarn, kNotice, kInfo, kDebug };

[[gnu::format(printf, 2, 3)]] void printk(LogLevel level, const char* fmt, ...);
void vprintk(LogLevel level, const char* fmt, va_list ap);

// Messages above `level` are not printed (Linux console_loglevel).
void set_console_loglevel(int level);

// Raw text without prefix (continuation lines, KTAP output).
[[gnu::format(printf, 1, 2)]] void printk_raw(const char* fmt, ...);

}  // namespace k

#define pr_emerg(...) ::k::printk(::k::LogLevel::kEmerg, __VA_ARGS__)
#define pr_err(...) ::k::printk(::k::LogLevel::kErr, __VA_ARGS__)
#define pr_warn(...) ::k::printk(::k::LogLevel::kWarn, __VA_ARGS__)
#define pr_notice(...) ::k::printk(::k::LogLevel::kNotice, __VA_ARGS__)
#define pr_info(...) ::k::printk(::k::LogLevel::kInfo, __VA_ARGS__)
#define pr_debug(...) ::k::printk(::k::LogLevel::kDebug, __VA_ARGS__)
