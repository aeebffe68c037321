// Internals shared by page_alloc.cpp, pcp.cpp, watermark.cpp and
// mm_init.cpp (Linux mm/internal.h). Not for use outside mm/.
#pragma once

#include <cstdint>

#include <arch/cpu.h>

#include "mm/gfp.h"
#include "mm/page.h"
#include "mm/numa.h"
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

// "BUG: Bad page state" report.
void bad_page(const Page* page, unsigned order, const char* reason);

// ---- pcp (pcp.cpp) ----
// page_alloc_debug=1: every allocation and free takes the checked paths
// (check_new_page on allocation, no pcp fast path).
extern bool g_page_alloc_debug;
// Returns a batch of the coldest pages of pcp to the buddy lists (pcp->lock
// held, interrupts masked).
void pcp_free_batch(Zone& z, PerCpuPages& pcp);

// The order-0 fast path: a page from this CPU's list of its node's pcp
// zone (nid: NUMA_NO_NODE or that node), without a watermark check (pages
// on pcp lists are already off the zone's free count; the refill, which
// takes them from the buddy lists, goes through the watermarked path).
// nullptr if the list is empty or the request needs anything else.
[[gnu::always_inline]] inline Page* rmqueue_pcp_fast(int nid) {
  const unsigned cpu = arch::this_cpu();
  const int node = cpu_to_node(cpu);
  if (nid != NUMA_NO_NODE && nid != node) return nullptr;
  Zone* z = g_node_pcp_zone[node];
  if (!z || cpu >= z->nr_pcp) return nullptr;
  PerCpuPages& pcp = z->pcp[cpu];
  const unsigned long irq = arch::irq_save();
  pcp.lock.lock();
  ListNode* n = pcp.list.pop_front();
  if (n) relaxed_store(pcp.count, pcp.count - 1);
  pcp.lock.unlock();
  arch::irq_restore(irq);
  if (!n) return nullptr;
  // prep_new_page() for order 0: the page left the list with PG_pcp only.
  Page* page = page_from_lru(n);
  page->flags.store(0, std::memory_order_relaxed);
  page->private_data = 0;
  page->refcount.store(1, std::memory_order_relaxed);
  return page;
}

// The order-0 free fast path for a page with refcount 1 and no flags but
// PG_zeroed: drops the reference and puts the page on this CPU's list of
// its zone. false (nothing done) when that is not possible here.
[[gnu::always_inline]] inline bool free_pcp_fast(Page* page) {
  if (page->nid >= kMaxNumNodes || page->zone_idx >= MAX_NR_ZONES) return false;
  PgData* pg = g_pgdat_fast[page->nid];
  const unsigned cpu = arch::this_cpu();
  if (!pg) return false;
  Zone& z = pg->node_zones[page->zone_idx];
  if (cpu >= z.nr_pcp) return false;
  const int old = page->refcount.fetch_sub(1, std::memory_order_acq_rel);
  if (old != 1) [[unlikely]] {
    if (old <= 0) {  // a free racing this one took the last reference
      page->refcount.fetch_add(1, std::memory_order_relaxed);
      bad_page(page, 0, "double free (racing frees)");
    }
    return true;  // still referenced (a get_page raced in), or refused
  }
  page->flags.store(Page::bit(PageFlag::kPcp), std::memory_order_relaxed);
  PerCpuPages& pcp = z.pcp[cpu];
  const unsigned long irq = arch::irq_save();
  pcp.lock.lock();
  pcp.list.push_front(&page->lru);  // hot end: the next allocation reuses it
  relaxed_store(pcp.count, pcp.count + 1);
  if (pcp.count >= pcp.high) [[unlikely]]
    pcp_free_batch(z, pcp);
  pcp.lock.unlock();
  arch::irq_restore(irq);
  return true;
}

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

}  // namespace k
