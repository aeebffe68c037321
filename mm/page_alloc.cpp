// Buddy allocator core and the alloc_pages() paths (Linux mm/page_alloc.c).
#include "mm/page_alloc.h"

#include <cstring>

#include "kernel/printk.h"
#include "mm/fault_inject.h"
#include "mm/internal.h"
#include "mm/mm_dump.h"
#include "mm/numa.h"
#include "mm/page_map.h"
#include "mm/zone_lock_stat.h"

namespace k {

namespace {

std::atomic<uint64_t> g_bad_page_reports{0};

constexpr uint32_t kBadFlagsAtFree = Page::bit(PageFlag::kBuddy) | Page::bit(PageFlag::kPcp) |
                                     Page::bit(PageFlag::kTail) | Page::bit(PageFlag::kReserved) |
                                     Page::bit(PageFlag::kSlab);

inline void set_buddy_order(Page* p, unsigned order) {
  p->order = static_cast<uint16_t>(order);
  p->set(PageFlag::kBuddy);
}

inline void add_to_free_list(Page* p, Zone& z, unsigned order) {
  FreeArea& a = z.free_area[order];
  set_buddy_order(p, order);
  a.free_list.push_front(&p->lru);
  relaxed_store(a.nr_free, a.nr_free + 1);
  z.free_pages.store(z.free_pages.load(std::memory_order_relaxed) + (int64_t{1} << order),
                     std::memory_order_relaxed);
}

inline void del_page_from_free_list(Page* p, Zone& z, unsigned order) {
  FreeArea& a = z.free_area[order];
  p->lru.unlink();
  p->clear(PageFlag::kBuddy);
  p->order = 0;
  relaxed_store(a.nr_free, a.nr_free - 1);
  z.free_pages.store(z.free_pages.load(std::memory_order_relaxed) - (int64_t{1} << order),
                     std::memory_order_relaxed);
}

// Linux page_is_buddy(): the buddy is a free block head of the same order
// in the same zone of the same node.
inline bool page_is_buddy(const Page* page, const Page* buddy, unsigned order) {
  return buddy->buddy() && buddy->order == order && buddy->zone_idx == page->zone_idx &&
         buddy->nid == page->nid;
}

// The pages [low, high) halves of a block split down from `high` to `low`
// go back on the free lists (Linux expand()).
void expand(Zone& z, uint64_t pfn, unsigned low, unsigned high) {
  while (high > low) {
    --high;
    add_to_free_list(pfn_to_page(Pfn(pfn + (uint64_t{1} << high))), z, high);
  }
}

void prep_compound_page(Page* head, unsigned order) {
  head->set(PageFlag::kHead);
  const uint64_t n = uint64_t{1} << order;
  for (uint64_t i = 1; i < n; ++i) {
    Page* t = head + i;  // one block never crosses a section array
    t->compound.head = head;
    t->set(PageFlag::kTail);
  }
}

// Checks a block just taken from the free lists; false = do not hand out.
bool check_new_page(Page* page, unsigned order) {
  const uint32_t f = page->flags.load(std::memory_order_relaxed);
  if ((f & kBadFlagsAtFree) || page->ref() != 0) {
    bad_page(page, order, "non-free page on the free lists");
    return false;
  }
  return true;
}

void prep_new_page(Page* page, unsigned order, gfp_t gfp) {
  page->order = static_cast<uint16_t>(order);
  page->private_data = 0;
  page->refcount.store(1, std::memory_order_relaxed);
  if ((gfp & __GFP_COMP) && order) prep_compound_page(page, order);
  if (gfp & __GFP_ZERO) std::memset(page_address(page), 0, kPageSize << order);
}

Page* rmqueue_buddy(Zone& z, unsigned order) {
  IrqSpinLockGuard g(z.lock);
  zone_lock_stat_inc(z);  // mm/zone_lock_stat.h (make bench)
  return __rmqueue_smallest(z, order);
}

Page* rmqueue(Zone& z, unsigned order) {
  if (order == 0 && z.nr_pcp) return rmqueue_pcplist(z);
  return rmqueue_buddy(z, order);
}

struct AllocContext {
  Zonelist* zonelist;
  unsigned highest_zoneidx;
  int preferred_nid;
};

Page* get_page_from_freelist(gfp_t gfp, unsigned order, unsigned alloc_flags,
                             const AllocContext& ac) {
  for (size_t i = 0; i < ac.zonelist->nr; ++i) {
    Zone& z = *ac.zonelist->zones[i];
    if (z.idx > ac.highest_zoneidx || !z.managed()) continue;
    if (!(alloc_flags & ALLOC_NO_WATERMARKS)) {
      const uint64_t mark = z.watermark[alloc_flags & ALLOC_WMARK_MASK];
      if (!zone_watermark_ok(z, order, mark, ac.highest_zoneidx, alloc_flags)) continue;
    }
    Page* page = rmqueue(z, order);
    if (!page) continue;
    // Bad-page checks of new pages cost on every allocation: debug only
    // (Linux CONFIG_DEBUG_VM). Frees keep their integrity checks always.
    if (g_page_alloc_debug && !check_new_page(page, order)) continue;  // reported; leaked
    prep_new_page(page, order, gfp);
    return page;
  }
  return nullptr;
}

// Linux gfp_zone(): the highest zone the request may use. Without a
// ZONE_DMA (no device restricted below 4 GiB), GFP_DMA is served like
// GFP_DMA32: still below 4 GiB, the conservative reading for 32-bit
// devices.
unsigned gfp_zone(gfp_t gfp) {
  if (gfp & __GFP_DMA) return g_zone_limits.dma_end_pfn ? ZONE_DMA : ZONE_DMA32;
  if (gfp & __GFP_DMA32) return ZONE_DMA32;
  return ZONE_NORMAL;
}

unsigned gfp_to_alloc_flags(gfp_t gfp) {
  unsigned f = ALLOC_WMARK_MIN;
  if (gfp & __GFP_HIGH) f |= ALLOC_MIN_RESERVE;
  if (!gfpflags_allow_blocking(gfp)) f |= ALLOC_NON_BLOCK;
  return f;
}

void warn_alloc(gfp_t gfp, unsigned order, int nid, const char* why) {
  char buf[160];
  format_gfp(gfp, buf, sizeof buf);
  pr_warn("page allocation failure: order:%u, mode:%#x(%s), nid:%d: %s\n", order, gfp, buf, nid,
          why);
  show_free_areas();
}

}  // namespace

void bad_page(const Page* page, unsigned order, const char* reason) {
  g_bad_page_reports.fetch_add(1, std::memory_order_relaxed);
  pr_err(
      "BUG: Bad page state: pfn:%#llx order:%u refcount:%d flags:%#x alloc-order:%u node:%u "
      "zone:%s: %s\n",
      static_cast<unsigned long long>(page_to_pfn(page).value()), order, page->ref(),
      page->flags.load(std::memory_order_relaxed), page->order, page->nid,
      page->zone_idx < MAX_NR_ZONES ? kZoneNames[page->zone_idx] : "?", reason);
}

uint64_t nr_bad_page_reports() { return g_bad_page_reports.load(std::memory_order_relaxed); }

Zone& page_zone(const Page* page) { return NODE_DATA(page->nid)->node_zones[page->zone_idx]; }

Page* __rmqueue_smallest(Zone& z, unsigned order) {
  for (unsigned o = order; o < NR_PAGE_ORDERS; ++o) {
    ListNode* n = z.free_area[o].free_list.first();
    if (!n) continue;
    Page* page = page_from_lru(n);
    del_page_from_free_list(page, z, o);
    expand(z, page_to_pfn(page).value(), order, o);
    return page;
  }
  return nullptr;
}

void __free_one_page(Page* page, uint64_t pfn, Zone& z, unsigned order) {
  while (order < MAX_ORDER) {
    const uint64_t buddy_pfn = pfn ^ (uint64_t{1} << order);
    Page* buddy = pfn_to_page(Pfn(buddy_pfn));
    if (!buddy || !page_is_buddy(page, buddy, order)) break;
    del_page_from_free_list(buddy, z, order);
    pfn &= buddy_pfn;
    page = pfn_to_page(Pfn(pfn));
    ++order;
  }
  add_to_free_list(page, z, order);
}

void free_one_page(Zone& z, Page* page, uint64_t pfn, unsigned order) {
  IrqSpinLockGuard g(z.lock);
  zone_lock_stat_inc(z);  // mm/zone_lock_stat.h (make bench)
  __free_one_page(page, pfn, z, order);
}

namespace {

// Everything but an order-0 pcp hit: other orders, zone modifiers, an
// empty pcp list (refill), watermarks, fallback, failure reports.
[[gnu::noinline]] Page* alloc_pages_slow(int nid, gfp_t gfp, unsigned order) {
  if (order > MAX_ORDER) {
    if (!(gfp & __GFP_NOWARN))
      pr_warn("page allocation failure: order %u above MAX_ORDER %u\n", order, MAX_ORDER);
    return nullptr;
  }
  if ((gfp & __GFP_DMA) && (gfp & __GFP_DMA32)) {
    // Linux treats this as a BUG; the stricter zone is the safe reading.
    pr_warn("alloc_pages: both __GFP_DMA and __GFP_DMA32 given (mode %#x); using ZONE_DMA\n", gfp);
  }
  if (nid == NUMA_NO_NODE || !node_online(nid)) nid = numa_node_id();
  PgData* pg = NODE_DATA(nid);
  if (!pg) {
    if (!(gfp & __GFP_NOWARN)) pr_warn("page allocation failure: page allocator not ready\n");
    return nullptr;
  }
  AllocContext ac{(gfp & __GFP_THISNODE) ? &pg->zonelist_nofallback : &pg->zonelist_fallback,
                  gfp_zone(gfp), nid};
  // Fast path: above the low watermark.
  if (Page* p = get_page_from_freelist(gfp, order, ALLOC_WMARK_LOW, ac)) return p;
  // Slow path: down to min (or below it for __GFP_HIGH).
  const unsigned alloc_flags = gfp_to_alloc_flags(gfp);
  if (Page* p = get_page_from_freelist(gfp, order, alloc_flags, ac)) return p;
  if (!(gfp & __GFP_NORETRY)) {
    // Pages cached on other CPUs' lists count as free; give them back.
    drain_all_pages(nullptr);
    if (Page* p = get_page_from_freelist(gfp, order, alloc_flags, ac)) return p;
  }
  if (gfp & __GFP_NOFAIL) {
    // No reclaim exists to wait for: the reserves are all that is left.
    if (Page* p = get_page_from_freelist(gfp, order, ALLOC_NO_WATERMARKS, ac)) return p;
    pr_err("page allocation failure despite __GFP_NOFAIL: order %u, memory exhausted\n", order);
    warn_alloc(gfp, order, nid, "out of memory (__GFP_NOFAIL)");
    return nullptr;
  }
  if (!(gfp & __GFP_NOWARN)) warn_alloc(gfp, order, nid, "no zone above its watermark");
  return nullptr;
}

}  // namespace

Page* alloc_pages_node(int nid, gfp_t gfp, unsigned order) {
  if (should_fail_alloc_page(gfp, order)) return nullptr;  // mm/fault_inject.h
  if (order == 0 && !(gfp & (__GFP_DMA | __GFP_DMA32)) && !g_page_alloc_debug) [[likely]] {
    if (Page* page = rmqueue_pcp_fast(nid)) [[likely]] {
      if (gfp & __GFP_ZERO) [[unlikely]]
        std::memset(page_address(page), 0, kPageSize);
      return page;
    }
  }
  return alloc_pages_slow(nid, gfp, order);
}

void* __get_free_pages(gfp_t gfp, unsigned order) {
  Page* p = alloc_pages(gfp, order);
  return p ? page_address(p) : nullptr;
}

void* get_zeroed_page(gfp_t gfp) { return __get_free_pages(gfp | __GFP_ZERO, 0); }

namespace {

// Every check a free makes; the block is refused (reported) when one fails.
[[gnu::noinline]] void free_pages_checked(Page* page, unsigned order) {
  if (!page) return;
  if (order > MAX_ORDER) {
    bad_page(page, order, "free with an order above MAX_ORDER");
    return;
  }
  const uint64_t pfn = page_to_pfn(page).value();
  const uint32_t f = page->flags.load(std::memory_order_relaxed);
  if (f & (Page::bit(PageFlag::kBuddy) | Page::bit(PageFlag::kPcp))) {
    bad_page(page, order, "double free (page is already free)");
    return;
  }
  if (f & Page::bit(PageFlag::kTail)) {
    bad_page(page, order, "free of a tail page of a compound page");
    return;
  }
  if (f & Page::bit(PageFlag::kReserved)) {
    bad_page(page, order, "free of a reserved page");
    return;
  }
  if (page->ref() <= 0) {
    bad_page(page, order, "double free or free of a page that was never allocated (refcount 0)");
    return;
  }
  if (page->order != order || !is_aligned(pfn, uint64_t{1} << order)) {
    bad_page(page, order, "free with the wrong order");
    return;
  }
  if (f & ~(Page::bit(PageFlag::kHead) | Page::bit(PageFlag::kZeroed))) {
    bad_page(page, order, "free of a page with unexpected flags");
    return;
  }
  const int old = page->refcount.fetch_sub(1, std::memory_order_acq_rel);
  if (old > 1) return;  // still referenced
  if (old <= 0) {
    page->refcount.fetch_add(1, std::memory_order_relaxed);
    bad_page(page, order, "double free (racing frees)");
    return;
  }
  // free_pages_prepare(): undo compound state, verify the tails.
  if (f & Page::bit(PageFlag::kHead)) {
    const uint64_t n = uint64_t{1} << order;
    for (uint64_t i = 1; i < n; ++i) {
      Page* t = page + i;
      if (!t->tail() || t->compound.head != page) {
        bad_page(t, order, "corrupted compound page tail");
        return;  // leak rather than corrupt
      }
    }
    for (uint64_t i = 1; i < n; ++i) {
      page[i].clear(PageFlag::kTail);
      page[i].compound.head = nullptr;
    }
  }
  page->flags.store(0, std::memory_order_relaxed);
  page->order = 0;
  if (order == 0) {
    free_unref_page(page);
    return;
  }
  free_one_page(page_zone(page), page, pfn, order);
}

}  // namespace

void __free_pages(Page* page, unsigned order) {
  // Free hooks go here.
  // Fast path: an order-0 page holding its last reference, with no flag
  // that says free, compound, reserved or slab (a double free has PG_pcp
  // or PG_buddy set and takes the checked path, which refuses it).
  if (order == 0 && page && !g_page_alloc_debug) [[likely]] {
    const uint32_t f = page->flags.load(std::memory_order_relaxed);
    if ((f & ~Page::bit(PageFlag::kZeroed)) == 0 && page->order == 0 && page->ref() == 1 &&
        free_pcp_fast(page)) [[likely]]
      return;
  }
  free_pages_checked(page, order);
}

void free_pages(void* addr, unsigned order) {
  if (!addr) return;
  Page* page = virt_to_page(addr);
  if (!page) {
    pr_err("free_pages: %p is not a page of RAM\n", addr);
    return;
  }
  if (page_address(page) != addr) {
    pr_err("free_pages: %p is not page aligned\n", addr);
    return;
  }
  __free_pages(page, order);
}

uint64_t zone_free_pages_total(const Zone& z) {
  const int64_t f = z.nr_free();
  return (f > 0 ? static_cast<uint64_t>(f) : 0) + z.pcp_count();
}

uint64_t nr_free_pages() {
  uint64_t n = 0;
  for_each_populated_zone([&](Zone& z) { n += zone_free_pages_total(z); });
  return n;
}

uint64_t totalram_pages() {
  uint64_t n = 0;
  for_each_populated_zone([&](Zone& z) { n += z.managed_pages.load(std::memory_order_relaxed); });
  return n;
}

namespace {
void append(char* buf, unsigned len, unsigned* pos, const char* s) {
  while (*s && *pos + 1 < len) buf[(*pos)++] = *s++;
  buf[*pos] = 0;
}
}  // namespace

void format_gfp(gfp_t gfp, char* buf, unsigned len) {
  if (!len) return;
  unsigned pos = 0;
  buf[0] = 0;
  struct Name {
    gfp_t bits;
    const char* name;
  };
  // Composite names first, like Linux's show_gfp_flags().
  static const Name names[] = {
      {GFP_USER, "GFP_USER"},
      {GFP_KERNEL, "GFP_KERNEL"},
      {GFP_ATOMIC, "GFP_ATOMIC"},
      {GFP_NOWAIT, "GFP_NOWAIT"},
      {__GFP_DMA, "GFP_DMA"},
      {__GFP_DMA32, "GFP_DMA32"},
      {__GFP_HIGH, "__GFP_HIGH"},
      {__GFP_IO, "__GFP_IO"},
      {__GFP_FS, "__GFP_FS"},
      {__GFP_ZERO, "__GFP_ZERO"},
      {__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"},
      {__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"},
      {__GFP_NOWARN, "__GFP_NOWARN"},
      {__GFP_NOFAIL, "__GFP_NOFAIL"},
      {__GFP_NORETRY, "__GFP_NORETRY"},
      {__GFP_COMP, "__GFP_COMP"},
      {__GFP_HARDWALL, "__GFP_HARDWALL"},
      {__GFP_THISNODE, "__GFP_THISNODE"},
  };
  gfp_t left = gfp;
  for (const Name& n : names) {
    if ((left & n.bits) != n.bits) continue;
    if (pos) append(buf, len, &pos, "|");
    append(buf, len, &pos, n.name);
    left &= ~n.bits;
  }
  if (left) {
    if (pos) append(buf, len, &pos, "|");
    append(buf, len, &pos, "unknown");
  }
  if (!pos) append(buf, len, &pos, "0");
}

}  // namespace k
