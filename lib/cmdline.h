// Kernel command line parsing, with Linux's conventions
// (Documentation/admin-guide/kernel-parameters.rst, kernel/params.c):
//
//   console=ttyS0 quiet mem=512M selftest.exit=1 dyndbg="file x +p" -- init args
//
// - parameters are separated by whitespace;
// - `key=value`, or a bare `key` (a flag);
// - a value (or a whole parameter) may be double-quoted to hold spaces; the
//   quotes are not part of the value; an unterminated quote runs to the end;
// - '-' and '_' are the same character in keys (parameq());
// - `--` ends the kernel's parameters (the rest belongs to init);
// - when a key appears twice, the last occurrence wins.
//
// Pure functions over a string_view: usable before the MMU is on (no
// switch, no static pointers, no allocation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace k {

struct CmdlineParam {
  std::string_view key;
  std::string_view value;  // quotes stripped; empty for a bare flag
  bool has_value = false;  // key=value (even key=) rather than a bare key
};

// Splits off the parameter starting at or after `pos`. Returns the position
// to continue from, or nullopt at the end (or at `--`).
std::optional<size_t> cmdline_next(std::string_view cmdline, size_t pos, CmdlineParam* out);

// Key comparison with '-' == '_'.
bool cmdline_key_eq(std::string_view a, std::string_view b);

// Every parameter in order. F(const CmdlineParam&) -> void or bool (false
// stops).
template <typename F>
void cmdline_for_each(std::string_view cmdline, F f) {
  CmdlineParam p;
  size_t pos = 0;
  while (auto next = cmdline_next(cmdline, pos, &p)) {
    pos = *next;
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const CmdlineParam&>, bool>) {
      if (!f(static_cast<const CmdlineParam&>(p))) return;
    } else {
      f(static_cast<const CmdlineParam&>(p));
    }
  }
}

// The value of the last occurrence of `key`: the text after '=' for
// key=value, an empty view for a bare flag; nullopt if absent (or key is
// empty).
std::optional<std::string_view> cmdline_get(std::string_view cmdline, std::string_view key);
// Whether `key` appears, as a flag or with a value.
bool cmdline_has(std::string_view cmdline, std::string_view key);

// An unsigned number as Linux memparse() reads it: decimal, 0x hex or 0
// octal, optionally followed by one of K M G T P E (binary multiples, either
// case). The whole string must be consumed; overflow -> nullopt.
std::optional<uint64_t> parse_u64(std::string_view s);
// 1/0, y/n, yes/no, on/off, true/false (any case). An empty string is true:
// a bare flag sets a boolean, as with Linux's param_set_bool().
std::optional<bool> parse_bool(std::string_view s);

}  // namespace k
