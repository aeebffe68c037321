#include <string_view>

#include "kernel/selftest.h"
#include "lib/kallsyms.h"

namespace k {
// A function with a known name to look up (not inlined, not static).
[[gnu::noinline]] uint64_t kallsyms_selftest_marker(uint64_t x) { return x * 3 + 1; }
}  // namespace k

SELFTEST(kallsyms, table_is_populated_and_sorted) { KEXPECT(k::kallsyms_count() > 100); }

SELFTEST(kallsyms, resolves_a_function_start_and_an_interior_address) {
  const auto addr = reinterpret_cast<uint64_t>(&k::kallsyms_selftest_marker);
  k::Symbol s;
  KASSERT(k::kallsyms_lookup(addr, &s));
  KEXPECT(std::string_view(s.name).starts_with("k::kallsyms_selftest_marker"));
  KEXPECT_EQ(s.offset, 0u);
  KEXPECT(s.size > 0);
  KASSERT(k::kallsyms_lookup(addr + s.size - 1, &s));
  KEXPECT(std::string_view(s.name).starts_with("k::kallsyms_selftest_marker"));
  KEXPECT_EQ(s.offset, s.size - 1);
  t.diag("%s at 0x%llx, size %llu (value %llu)", s.name, static_cast<unsigned long long>(s.start),
         static_cast<unsigned long long>(s.size),
         static_cast<unsigned long long>(k::kallsyms_selftest_marker(2)));
}

SELFTEST(kallsyms, rejects_addresses_outside_the_text) {
  k::Symbol s;
  KEXPECT(!k::kallsyms_lookup(0x1000, &s));
}
