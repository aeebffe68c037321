// Kernel command line parsing (see lib/cmdline.h). The splitting rules
// follow Linux's next_arg() in lib/cmdline.c / kernel/params.c.
#include "lib/cmdline.h"

namespace k {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view span_of(std::string_view s, size_t begin, size_t end) {
  return std::string_view(s.data() + begin, end - begin);
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

// Digit value in any base up to 16, or 16 for a non-digit.
unsigned digit_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  const char l = to_lower(c);
  if (l >= 'a' && l <= 'f') return static_cast<unsigned>(l - 'a' + 10);
  return 16;
}

}  // namespace

std::optional<size_t> cmdline_next(std::string_view s, size_t pos, CmdlineParam* out) {
  while (pos < s.size() && is_space(s[pos])) ++pos;
  if (pos >= s.size()) return std::nullopt;

  // A parameter may be quoted as a whole: "key=a b".
  bool quoted = false;
  if (s[pos] == '"') {
    quoted = true;
    ++pos;
  }
  const size_t start = pos;
  size_t equals = s.size();
  bool in_quote = quoted;
  size_t end = start;
  for (; end < s.size(); ++end) {
    const char c = s[end];
    if (is_space(c) && !in_quote) break;
    if (equals == s.size() && c == '=') equals = end;
    if (c == '"') in_quote = !in_quote;
  }

  CmdlineParam p;
  // The closing quote of a quoted value or a quoted parameter is not text.
  size_t text_end = end;
  if (equals != s.size()) {
    p.key = span_of(s, start, equals);
    p.has_value = true;
    size_t vb = equals + 1;
    if (vb < end && s[vb] == '"') {
      ++vb;
      if (text_end > vb && s[text_end - 1] == '"') --text_end;
    } else if (quoted && text_end > vb && s[text_end - 1] == '"') {
      --text_end;
    }
    p.value = span_of(s, vb, text_end);
  } else {
    if (quoted && text_end > start && s[text_end - 1] == '"') --text_end;
    p.key = span_of(s, start, text_end);
    p.value = span_of(s, text_end, text_end);
  }
  // "--" hands the rest of the line to init (kernel/params.c parse_args()).
  if (!quoted && !p.has_value && p.key.size() == 2 && p.key[0] == '-' && p.key[1] == '-')
    return std::nullopt;
  *out = p;
  return end;
}

bool cmdline_key_eq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '-' ? '_' : a[i];
    const char y = b[i] == '-' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string_view> cmdline_get(std::string_view cmdline, std::string_view key) {
  if (key.empty()) return std::nullopt;
  std::optional<std::string_view> found;
  cmdline_for_each(cmdline, [&](const CmdlineParam& p) {
    if (cmdline_key_eq(p.key, key)) found = p.value;
  });
  return found;
}

bool cmdline_has(std::string_view cmdline, std::string_view key) {
  return cmdline_get(cmdline, key).has_value();
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  size_t i = 0;
  unsigned base = 10;
  if (s.size() >= 3 && s[0] == '0' && to_lower(s[1]) == 'x' && digit_value(s[2]) < 16) {
    base = 16;
    i = 2;
  } else if (s.size() >= 2 && s[0] == '0' && digit_value(s[1]) < 10) {
    base = 8;
    i = 1;
  }
  const size_t first = i;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    const unsigned d = digit_value(s[i]);
    if (d >= base) break;
    if (v > (~uint64_t{0} - d) / base) return std::nullopt;
    v = v * base + d;
  }
  if (i == first) return std::nullopt;
  if (i == s.size()) return v;
  if (i + 1 != s.size()) return std::nullopt;
  // memparse(): binary multiples.
  const char suffix = to_lower(s[i]);
  unsigned shift = 0;
  if (suffix == 'k')
    shift = 10;
  else if (suffix == 'm')
    shift = 20;
  else if (suffix == 'g')
    shift = 30;
  else if (suffix == 't')
    shift = 40;
  else if (suffix == 'p')
    shift = 50;
  else if (suffix == 'e')
    shift = 60;
  else
    return std::nullopt;
  if (v > (~uint64_t{0} >> shift)) return std::nullopt;
  return v << shift;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s.empty() || iequal(s, "1") || iequal(s, "y") || iequal(s, "yes") || iequal(s, "on") ||
      iequal(s, "true"))
    return true;
  if (iequal(s, "0") || iequal(s, "n") || iequal(s, "no") || iequal(s, "off") || iequal(s, "false"))
    return false;
  return std::nullopt;
}

}  // namespace k
