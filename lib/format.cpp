#include "lib/format.h"

#include <cstdint>

namespace k {
namespace {

class Out {
 public:
  Out(char* buf, size_t size) : buf_(buf), size_(size) {}
  void put(char c) {
    if (len_ + 1 < size_) buf_[len_] = c;
    ++len_;
  }
  void repeat(char c, int n) {
    while (n-- > 0) put(c);
  }
  size_t finish() {
    if (size_) buf_[len_ < size_ ? len_ : size_ - 1] = '\0';
    return len_;
  }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  int width = 0;
  int precision = -1;
};

void emit_number(Out& out, uint64_t v, bool negative, unsigned base, bool upper, const Spec& s) {
  char digits[24];
  int n = 0;
  const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[n++] = set[v % base];
    v /= base;
  } while (v);
  int prec_zeros = s.precision > n ? s.precision - n : 0;
  const char* prefix = "";
  if (negative)
    prefix = "-";
  else if (s.plus)
    prefix = "+";
  else if (s.space)
    prefix = " ";
  if (s.alt && base == 16) prefix = upper ? "0X" : "0x";
  int prefix_len = 0;
  while (prefix[prefix_len]) ++prefix_len;
  int total = n + prec_zeros + prefix_len;
  int pad = s.width > total ? s.width - total : 0;
  if (!s.left && !(s.zero && s.precision < 0)) out.repeat(' ', pad);
  for (int i = 0; i < prefix_len; ++i) out.put(prefix[i]);
  if (!s.left && s.zero && s.precision < 0) out.repeat('0', pad);
  out.repeat('0', prec_zeros);
  while (n) out.put(digits[--n]);
  if (s.left) out.repeat(' ', pad);
}

void emit_string(Out& out, const char* str, const Spec& s) {
  if (!str) str = "(null)";
  int len = 0;
  while (str[len] && (s.precision < 0 || len < s.precision)) ++len;
  int pad = s.width > len ? s.width - len : 0;
  if (!s.left) out.repeat(' ', pad);
  for (int i = 0; i < len; ++i) out.put(str[i]);
  if (s.left) out.repeat(' ', pad);
}

}  // namespace

size_t vsnformat(char* buf, size_t size, const char* fmt, va_list ap) {
  Out out(buf, size);
  for (const char* p = fmt; *p; ++p) {
    if (*p != '%') {
      out.put(*p);
      continue;
    }
    Spec s;
    for (;;) {
      const char f = *++p;
      if (f == '-')
        s.left = true;
      else if (f == '0')
        s.zero = true;
      else if (f == '+')
        s.plus = true;
      else if (f == ' ')
        s.space = true;
      else if (f == '#')
        s.alt = true;
      else
        break;
    }
    if (*p == '*') {
      s.width = va_arg(ap, int);
      if (s.width < 0) s.left = true, s.width = -s.width;
      ++p;
    } else {
      while (*p >= '0' && *p <= '9') s.width = s.width * 10 + (*p++ - '0');
    }
    if (*p == '.') {
      ++p;
      s.precision = 0;
      if (*p == '*') {
        s.precision = va_arg(ap, int);
        ++p;
      } else {
        while (*p >= '0' && *p <= '9') s.precision = s.precision * 10 + (*p++ - '0');
      }
    }
    int length = 0;  // 0 int, 1 long, 2 long long, -1 short, -2 char
    for (;; ++p) {
      if (*p == 'l')
        ++length;
      else if (*p == 'h')
        --length;
      else if (*p == 'z' || *p == 'j' || *p == 't')
        length = 2;
      else
        break;
    }
    const char conv = *p;
    if (conv == '\0') break;
    auto get_signed = [&]() -> int64_t {
      if (length >= 1) return length == 1 ? va_arg(ap, long) : va_arg(ap, long long);
      const int v = va_arg(ap, int);
      return length == -2 ? static_cast<signed char>(v) : length == -1 ? static_cast<short>(v) : v;
    };
    auto get_unsigned = [&]() -> uint64_t {
      if (length >= 1)
        return length == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
      const unsigned v = va_arg(ap, unsigned);
      return length == -2   ? static_cast<unsigned char>(v)
             : length == -1 ? static_cast<unsigned short>(v)
                            : v;
    };
    if (conv == 'd' || conv == 'i') {
      const int64_t v = get_signed();
      const uint64_t mag =
          v < 0 ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      emit_number(out, mag, v < 0, 10, false, s);
    } else if (conv == 'u') {
      emit_number(out, get_unsigned(), false, 10, false, s);
    } else if (conv == 'x' || conv == 'X') {
      emit_number(out, get_unsigned(), false, 16, conv == 'X', s);
    } else if (conv == 'o') {
      emit_number(out, get_unsigned(), false, 8, false, s);
    } else if (conv == 'p') {
      Spec ps = s;
      ps.alt = true;
      emit_number(out, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), false, 16, false, ps);
    } else if (conv == 'c') {
      const char c = static_cast<char>(va_arg(ap, int));
      const char str[2] = {c, 0};
      emit_string(out, str, s);
    } else if (conv == 's') {
      emit_string(out, va_arg(ap, const char*), s);
    } else if (conv == '%') {
      out.put('%');
    } else {
      out.put('%');
      out.put(conv);
    }
  }
  return out.finish();
}

size_t snformat(char* buf, size_t size, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const size_t n = vsnformat(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

}  // namespace k
