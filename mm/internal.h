// Internals shared by page_alloc.cpp, pcp.cpp, watermark.cpp and
// mm_init.cpp (Linux mm/internal.h). Not for use outside mm/.
#pragma once

#include <cstdint>

#include <arch/cpu.h>

#include "mm/gfp.h"
#include "mm/page.h"
#include "mm/zone.h"

namespace k {

// alloc_flags of the allocation paths (Linux mm/internal.h ALLOC_*).
enum AllocFlags : unsigned {
  ALLOC_WMARK_MIN = WMARK_MIN,
  ALLOC_WMARK_LOW = WMARK_LOW,
  ALLOC_WMARK_HIGH = WMARK_HIGH,
  ALLOC_WMARK_MASK = 3,
  ALLOC_NO_WATERMARKS = 1u << 2,  // ignore watermarks entirely (__GFP_NOFAIL last try)
  ALLOC_MIN_RESERVE = 1u << 3,    // __GFP_HIGH: may use half the min reserve
  ALLOC_NON_BLOCK = 1u << 4,      // cannot block: with MIN_RESERVE, a quarter more
};

// Relaxed load/store helpers for counters written under a lock and read
// without one (statistics, watermark checks).
template <typename T>
inline T relaxed_load(const T& v) {
  return __atomic_load_n(&v, __ATOMIC_RELAXED);
}
template <typename T>
inline void relaxed_store(T& v, T x) {
  __atomic_store_n(&v, x, __ATOMIC_RELAXED);
}

// Interrupts masked for a scope (the pcp of this_cpu() stays ours).
class IrqSave {
 public:
  IrqSave() : flags_(arch::irq_save()) {}
  ~IrqSave() { arch::irq_restore(flags_); }
  IrqSave(const IrqSave&) = delete;
  IrqSave& operator=(const IrqSave&) = delete;

 private:
  unsigned long flags_;
};

// ---- buddy core (zone->lock held) ----
Page* __rmqueue_smallest(Zone& z, unsigned order);
void __free_one_page(Page* page, uint64_t pfn, Zone& z, unsigned order);
// Takes zone->lock: merges 2^order pages at page back into the buddy lists.
void free_one_page(Zone& z, Page* page, uint64_t pfn, unsigned order);

// ---- pcp (pcp.cpp) ----
Page* rmqueue_pcplist(Zone& z);
// Frees an order-0 page (already checked and prepared) via this CPU's pcp.
void free_unref_page(Page* page);

// ---- watermarks (watermark.cpp) ----
bool zone_watermark_ok(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx,
                       unsigned alloc_flags);
// min_free_kbytes, watermarks and lowmem_reserve from managed pages.
void init_per_zone_wmark_min();

// ---- hand-over (mm_init.cpp) ----
// Frees [start_pfn, end_pfn) (PG_reserved pages of one node) into the
// buddy allocator in the largest aligned blocks, split at zone limits;
// increments managed pages. Returns the number of pages freed.
uint64_t free_pfn_range_to_buddy(uint64_t start_pfn, uint64_t end_pfn);

// "BUG: Bad page state" report.
void bad_page(const Page* page, unsigned order, const char* reason);

}  // namespace k
