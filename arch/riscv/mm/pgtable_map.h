// Generic mapping of a physical range into a page table, with the largest
// leaves alignment allows. Header-only so that it runs in three settings:
// early boot with the MMU off (tables reached by physical address), the
// running kernel (tables reached through the linear map) and host tests
// (tables in a simulated arena). The caller supplies how to allocate a
// zeroed table page and how to reach a table by physical address.
#pragma once

#include <cstdint>

#include "arch/riscv/mm/pte.h"

namespace arch {

struct MapRequest {
  uint64_t va;
  k::PhysAddr pa;
  uint64_t size;
  uint64_t flags;           // leaf flags (V and permission bits)
  unsigned max_leaf_level;  // 0 = 4 KiB only, 1 = up to 2 MiB, 2 = up to 1 GiB
};

enum class MapStatus { kOk, kNoMemory, kAlreadyMapped, kBadArgs };

// AllocTable: () -> k::PhysAddr (zeroed page, PhysAddr(0) on failure).
// TableAt:    (k::PhysAddr) -> uint64_t* (where the CPU can access it).
template <typename AllocTable, typename TableAt>
MapStatus map_range(k::PhysAddr root, unsigned levels, const MapRequest& req,
                    AllocTable&& alloc_table, TableAt&& table_at) {
  if (!k::is_aligned(req.va | req.pa.value() | req.size, k::kPageSize) || req.size == 0)
    return MapStatus::kBadArgs;
  uint64_t va = req.va;
  k::PhysAddr pa = req.pa;
  uint64_t left = req.size;
  while (left) {
    // The largest leaf whose size and alignment fit this step.
    unsigned leaf = req.max_leaf_level < levels - 1 ? req.max_leaf_level : levels - 1;
    while (leaf > 0) {
      const uint64_t sz = pte::level_size(leaf);
      if (k::is_aligned(va, sz) && k::is_aligned(pa.value(), sz) && left >= sz) break;
      --leaf;
    }
    uint64_t* table = table_at(root);
    for (unsigned level = levels - 1; level > leaf; --level) {
      uint64_t& e = table[pte::index(va, level)];
      if (!pte::is_valid(e)) {
        const k::PhysAddr t = alloc_table();
        if (t.value() == 0) return MapStatus::kNoMemory;
        e = pte::make_table(t);
      } else if (pte::is_leaf(e)) {
        return MapStatus::kAlreadyMapped;
      }
      table = table_at(pte::phys(e));
    }
    uint64_t& e = table[pte::index(va, leaf)];
    if (pte::is_valid(e)) return MapStatus::kAlreadyMapped;
    e = pte::make(pa, req.flags);
    const uint64_t sz = pte::level_size(leaf);
    va += sz;
    pa += sz;
    left -= sz;
  }
  return MapStatus::kOk;
}

}  // namespace arch
