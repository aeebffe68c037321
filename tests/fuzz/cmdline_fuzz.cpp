// libFuzzer target for lib/cmdline: split, look up and convert arbitrary
// command lines.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lib/cmdline.h"

namespace {
volatile uint64_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> buf(data, data + size);
  const std::string_view line(buf.data(), buf.size());
  uint64_t acc = 0;
  size_t params = 0;
  k::cmdline_for_each(line, [&](const k::CmdlineParam& p) {
    // Every piece must lie inside the input.
    const char* lo = buf.data();
    const char* hi = buf.data() + buf.size();
    if (p.key.data() < lo || p.key.data() + p.key.size() > hi) __builtin_trap();
    if (p.value.data() < lo || p.value.data() + p.value.size() > hi) __builtin_trap();
    acc += p.key.size() + p.value.size() + p.has_value;
    acc += k::parse_u64(p.value).value_or(0);
    acc += k::parse_bool(p.value).value_or(false);
    // The last occurrence of a key is what cmdline_get reports.
    if (++params < 32 && !p.key.empty()) {
      if (!k::cmdline_has(line, p.key)) __builtin_trap();
    }
  });
  for (std::string_view key : {"mem", "console", "selftest", "selftest.exit", "quiet", ""}) {
    if (auto v = k::cmdline_get(line, key)) acc += v->size() + k::parse_u64(*v).value_or(0);
  }
  acc += k::parse_u64(line).value_or(0) + k::parse_bool(line).value_or(false);
  g_sink = acc;
  return 0;
}
