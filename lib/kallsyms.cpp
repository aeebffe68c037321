#include "lib/kallsyms.h"

extern "C" {
extern const uint64_t kallsyms_num;
extern const uint64_t kallsyms_addrs[];
extern const uint32_t kallsyms_sizes[];
extern const uint32_t kallsyms_name_offs[];
extern const char kallsyms_names[];
}

namespace k {

size_t kallsyms_count() { return kallsyms_num; }

bool kallsyms_lookup(uint64_t addr, Symbol* out) {
  const uint64_t n = kallsyms_num;
  if (n == 0 || addr < kallsyms_addrs[0]) return false;
  // Last symbol whose start is <= addr.
  uint64_t lo = 0, hi = n;
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (kallsyms_addrs[mid] <= addr)
      lo = mid;
    else
      hi = mid;
  }
  // Prefer a sized symbol among aliases at the same address.
  while (lo > 0 && kallsyms_addrs[lo - 1] == kallsyms_addrs[lo] && kallsyms_sizes[lo] == 0) --lo;
  const uint64_t size = kallsyms_sizes[lo];
  // Past the end of a sized symbol: padding or code nm knows nothing about.
  if (size && addr - kallsyms_addrs[lo] >= size) return false;
  out->name = kallsyms_names + kallsyms_name_offs[lo];
  out->start = kallsyms_addrs[lo];
  out->size = size;
  out->offset = addr - out->start;
  return true;
}

}  // namespace k
