// memblock: the boot-time physical memory manager (the role of Linux's
// mm/memblock.c). It owns RAM from the moment the DT is read until
// mm_init_page_alloc() hands every free byte to the buddy allocator.
//
// Two sorted, non-overlapping, merged region arrays:
//   memory   - RAM that exists (from /memory), with its NUMA node and
//              MEMBLOCK_NOMAP for ranges that must stay out of the linear
//              map (no-map reserved-memory, firmware);
//   reserved - RAM in use (kernel, DTB, initrd, reserved-memory, and every
//              memblock allocation).
// Free memory = memory - reserved - NOMAP.
//
// The arrays start in .bss (128 entries each, Linux INIT_MEMBLOCK_REGIONS)
// and double themselves, allocating from memblock, once allow_resize() has
// been called (i.e. once memblock memory is reachable through
// arch::phys_to_virt); before that a full array makes the call fail with
// ENOMEM and a pr_err, never corrupts.
//
// Allocations are top-down below current_limit (what the linear map covers)
// and are reached through arch::phys_to_virt.
//
// Not thread-safe: it runs on the boot hart before the other harts start.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/result.h"
#include "lib/types.h"
#include "mm/boot_mem.h"

namespace k {

enum MemblockFlags : uint32_t {
  MEMBLOCK_NONE = 0,
  MEMBLOCK_NOMAP = 1u << 0,  // not in the linear map, never allocated
};

struct MemblockRegion {
  PhysAddr base;
  uint64_t size = 0;
  uint32_t flags = MEMBLOCK_NONE;
  int nid = NUMA_NO_NODE;
  constexpr PhysAddr end() const { return base + size; }
};

struct MemblockType {
  size_t cnt = 0;
  size_t max = 0;
  uint64_t total_size = 0;
  MemblockRegion* regions = nullptr;
  const char* name = "";
  bool dynamic = false;  // regions came from memblock itself (freed on growth)
};

inline constexpr size_t kInitMemblockRegions = 128;
// Highest physical address (exclusive) any memblock range may reach.
inline constexpr uint64_t kPhysAddrMax = ~uint64_t{0};

class Memblock {
 public:
  constexpr Memblock()
      : memory_{0, kInitMemblockRegions, 0, init_memory_, "memory", false},
        reserved_{0, kInitMemblockRegions, 0, init_reserved_, "reserved", false} {}
  Memblock(const Memblock&) = delete;
  Memblock& operator=(const Memblock&) = delete;

  // Forgets everything (host tests; a fresh boot starts from .bss zero).
  void reset();

  // Adds RAM [base, base+size) on node nid. Overlaps with known RAM are
  // merged; EINVAL on an address overflow, ENOMEM if the array cannot grow.
  Result<void> add(PhysAddr base, uint64_t size, int nid = NUMA_NO_NODE);
  // Removes RAM (and any reservation inside it).
  Result<void> remove(PhysAddr base, uint64_t size);
  Result<void> reserve(PhysAddr base, uint64_t size);
  // Drops a reservation (memblock_phys_free).
  Result<void> free(PhysAddr base, uint64_t size);
  Result<void> mark_nomap(PhysAddr base, uint64_t size);
  // Re-assigns the node of RAM in the range (memblock_set_node).
  Result<void> set_node(PhysAddr base, uint64_t size, int nid);

  // mem=: keeps the lowest `limit` bytes of mappable RAM, but never cuts
  // below `keep_end` (the kernel image and DTB must survive). Returns the
  // address above which RAM was removed (kPhysAddrMax if nothing was).
  PhysAddr enforce_memory_limit(uint64_t limit, PhysAddr keep_end = PhysAddr(0));

  // Allocations never go above this (exclusive); the boot code sets it to
  // the end of what the linear map covers.
  void set_current_limit(PhysAddr limit) { current_limit_ = limit; }
  PhysAddr current_limit() const { return current_limit_; }
  // Lets the region arrays grow by allocating from memblock.
  void allow_resize() { can_resize_ = true; }

  // The page allocator owns RAM now: later allocations fail loudly, the
  // arrays no longer grow (their memory would belong to the buddy lists).
  void retire() {
    retired_ = true;
    can_resize_ = false;
  }
  bool retired() const { return retired_; }

  // Allocates and reserves size bytes aligned to align (a power of two)
  // inside [min_addr, max_addr) (max_addr also capped by current_limit),
  // preferring node nid; with exact_nid only nid is tried. ENOMEM when
  // nothing fits, EINVAL for a bad alignment or size.
  Result<PhysAddr> phys_alloc(uint64_t size, uint64_t align, PhysAddr min_addr = PhysAddr(0),
                              PhysAddr max_addr = PhysAddr(kPhysAddrMax), int nid = NUMA_NO_NODE,
                              bool exact_nid = false);
  // The same, returned zeroed through the linear map; nullptr on failure.
  void* alloc(uint64_t size, uint64_t align, int nid = NUMA_NO_NODE,
              PhysAddr max_addr = PhysAddr(kPhysAddrMax));
  // Frees memory returned by alloc().
  void free_virt(void* p, uint64_t size);

  const MemblockType& memory() const { return memory_; }
  const MemblockType& reserved() const { return reserved_; }
  uint64_t phys_mem_size() const { return memory_.total_size; }
  uint64_t reserved_size() const { return reserved_.total_size; }
  // First and last+1 address of RAM (0/0 when empty).
  PhysAddr start_of_dram() const;
  PhysAddr end_of_dram() const;
  bool is_memory(PhysAddr a) const;
  bool is_reserved(PhysAddr a) const;
  bool is_region_reserved(PhysAddr base, uint64_t size) const;
  bool is_nomap(PhysAddr a) const;
  // Whether [base, base+size) is entirely mappable RAM.
  bool is_region_memory(PhysAddr base, uint64_t size) const;

  // F(PhysAddr start, PhysAddr end, int nid) for each free range (memory
  // minus reserved minus NOMAP), ascending.
  template <typename F>
  void for_each_free_range(F f) const;
  // F(const MemblockRegion&) over every memory region, ascending.
  template <typename F>
  void for_each_mem_region(F f) const {
    for (size_t i = 0; i < memory_.cnt; ++i) f(memory_.regions[i]);
  }

  // /proc/iomem-style listing of RAM and reservations via pr_info.
  void dump() const;
  // Linux memblock=debug style listing of both arrays.
  void dump_arrays() const;

 private:
  Result<void> add_range(MemblockType& t, PhysAddr base, uint64_t size, int nid, uint32_t flags);
  Result<void> isolate_range(MemblockType& t, PhysAddr base, uint64_t size, size_t* start,
                             size_t* end);
  Result<void> remove_range(MemblockType& t, PhysAddr base, uint64_t size);
  Result<void> ensure_room(MemblockType& t, size_t needed, PhysAddr excl_base, uint64_t excl_size);
  Result<void> double_array(MemblockType& t, PhysAddr excl_base, uint64_t excl_size);
  void insert_region(MemblockType& t, size_t idx, PhysAddr base, uint64_t size, int nid,
                     uint32_t flags);
  void remove_region(MemblockType& t, size_t idx);
  void merge_regions(MemblockType& t);
  // Top-down search for a free aligned block in [start, end) on nid (or any
  // node for NUMA_NO_NODE), avoiding [excl_base, excl_base+excl_size).
  bool find_in_range(uint64_t size, uint64_t align, uint64_t start, uint64_t end, int nid,
                     uint64_t excl_base, uint64_t excl_size, uint64_t* out) const;
  template <typename F>
  bool for_each_free_range_rev(int nid, F f) const;

  MemblockType memory_;
  MemblockType reserved_;
  PhysAddr current_limit_{kPhysAddrMax};
  bool can_resize_ = false;
  bool retired_ = false;
  MemblockRegion init_memory_[kInitMemblockRegions] = {};
  MemblockRegion init_reserved_[kInitMemblockRegions] = {};
};

// The kernel's memblock (Linux's global `memblock`).
extern Memblock memblock;

template <typename F>
void Memblock::for_each_free_range(F f) const {
  size_t ri = 0;
  for (size_t i = 0; i < memory_.cnt; ++i) {
    const MemblockRegion& m = memory_.regions[i];
    if (m.flags & MEMBLOCK_NOMAP) continue;
    uint64_t cur = m.base.value();
    const uint64_t end = m.end().value();
    while (ri < reserved_.cnt && reserved_.regions[ri].end().value() <= cur) ++ri;
    for (size_t j = ri; j < reserved_.cnt && cur < end; ++j) {
      const MemblockRegion& r = reserved_.regions[j];
      if (r.base.value() >= end) break;
      if (r.base.value() > cur) f(PhysAddr(cur), r.base, m.nid);
      if (r.end().value() > cur) cur = r.end().value();
    }
    if (cur < end) f(PhysAddr(cur), PhysAddr(end), m.nid);
  }
}

}  // namespace k
