// Per-CPU page lists (Linux struct per_cpu_pages): order-0 pages cached per
// zone per CPU so the common alloc/free pair touches no shared lock.
//
// Each list has its own lock, taken with interrupts masked. The owning CPU
// is the only one that allocates from or frees to it; other CPUs take the
// lock only to drain it (drain_all_pages), so the lock is uncontended on
// the fast path. Lock order: pcp->lock, then zone->lock.
#include "kernel/printk.h"
#include "mm/internal.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/zone_lock_stat.h"

namespace k {

namespace {

// Moves up to `count` order-0 pages from the buddy lists to `pcp`
// (Linux rmqueue_bulk()).
void rmqueue_bulk(Zone& z, int count, PerCpuPages& pcp) {
  SpinLockGuard g(z.lock);
  zone_lock_stat_inc(z);  // mm/zone_lock_stat.h (make bench)
  int n = 0;
  for (; n < count; ++n) {
    Page* page = __rmqueue_smallest(z, 0);
    if (!page) break;
    page->set(PageFlag::kPcp);
    pcp.list.push_back(&page->lru);
  }
  relaxed_store(pcp.count, pcp.count + n);
}

// Returns up to `count` of the coldest pages of `pcp` to the buddy lists
// (Linux free_pcppages_bulk()). pcp->lock held.
void free_pcppages_bulk(Zone& z, int count, PerCpuPages& pcp) {
  SpinLockGuard g(z.lock);
  zone_lock_stat_inc(z);  // mm/zone_lock_stat.h (make bench)
  int n = 0;
  for (; n < count; ++n) {
    ListNode* node = pcp.list.last();
    if (!node) break;
    node->unlink();
    Page* page = page_from_lru(node);
    page->clear(PageFlag::kPcp);
    __free_one_page(page, page_to_pfn(page).value(), z, 0);
  }
  relaxed_store(pcp.count, pcp.count - n);
}

void drain_pages_zone(unsigned cpu, Zone& z) {
  if (cpu >= z.nr_pcp) return;
  IrqSave irq;
  PerCpuPages& pcp = z.pcp[cpu];
  SpinLockGuard g(pcp.lock);
  if (pcp.count) free_pcppages_bulk(z, pcp.count, pcp);
}

}  // namespace

bool g_page_alloc_debug = false;

void page_alloc_set_debug(bool on) { g_page_alloc_debug = on; }
bool page_alloc_debug() { return g_page_alloc_debug; }

void pcp_free_batch(Zone& z, PerCpuPages& pcp) { free_pcppages_bulk(z, pcp.batch, pcp); }

Page* rmqueue_pcplist(Zone& z) {
  IrqSave irq;
  const unsigned cpu = arch::this_cpu();
  if (cpu >= z.nr_pcp) {
    // A CPU the allocator was not sized for: serve it from the buddy lists.
    SpinLockGuard g(z.lock);
    zone_lock_stat_inc(z);  // mm/zone_lock_stat.h (make bench)
    return __rmqueue_smallest(z, 0);
  }
  PerCpuPages& pcp = z.pcp[cpu];
  SpinLockGuard g(pcp.lock);
  if (pcp.list.empty()) rmqueue_bulk(z, pcp.batch, pcp);
  ListNode* node = pcp.list.pop_front();
  if (!node) return nullptr;
  relaxed_store(pcp.count, pcp.count - 1);
  Page* page = page_from_lru(node);
  page->clear(PageFlag::kPcp);
  return page;
}

void free_unref_page(Page* page) {
  Zone& z = page_zone(page);
  IrqSave irq;
  const unsigned cpu = arch::this_cpu();
  if (cpu >= z.nr_pcp) {
    SpinLockGuard g(z.lock);
    zone_lock_stat_inc(z);  // mm/zone_lock_stat.h (make bench)
    __free_one_page(page, page_to_pfn(page).value(), z, 0);
    return;
  }
  PerCpuPages& pcp = z.pcp[cpu];
  SpinLockGuard g(pcp.lock);
  page->set(PageFlag::kPcp);
  pcp.list.push_front(&page->lru);  // hot end: the next allocation reuses it
  relaxed_store(pcp.count, pcp.count + 1);
  if (pcp.count >= pcp.high) free_pcppages_bulk(z, pcp.batch, pcp);
}

void drain_local_pages(Zone* z) {
  const unsigned cpu = arch::this_cpu();
  if (z) {
    drain_pages_zone(cpu, *z);
    return;
  }
  for_each_populated_zone([&](Zone& zone) { drain_pages_zone(cpu, zone); });
}

void drain_all_pages(Zone* z) {
  auto drain_zone = [](Zone& zone) {
    for (unsigned cpu = 0; cpu < zone.nr_pcp; ++cpu) drain_pages_zone(cpu, zone);
  };
  if (z) {
    drain_zone(*z);
    return;
  }
  for_each_populated_zone(drain_zone);
}

}  // namespace k
