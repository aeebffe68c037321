// Embedded kernel symbol table (two-pass link, tools/kallsyms.py): turns a
// code address into `function+offset/size` for backtraces.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k {

struct Symbol {
  const char* name;
  uint64_t start;
  uint64_t size;    // 0 if unknown
  uint64_t offset;  // addr - start
};

// The symbol containing `addr` (or the nearest one below it when sizes are
// unknown); false if `addr` is below the first text symbol.
bool kallsyms_lookup(uint64_t addr, Symbol* out);
size_t kallsyms_count();

}  // namespace k
