// struct page: one per physical page frame (Linux include/linux/mm_types.h).
//
// 64 bytes, so that the page array costs 1/64 of RAM (Linux's size on
// 64-bit without debug options). Which fields mean what depends on the
// state the flags say the page is in:
//
//   free in buddy (PG_buddy)  lru on zone->free_area[order], order = order
//   on a pcp list (PG_pcp)    lru on pcp->list, order = 0
//   allocated block head      refcount >= 1, order = allocation order
//   compound head (PG_head)   + order; tails carry PG_tail and head pointer
//   slab (PG_slab)            lru on the cache's lists, slab.* fields
//   reserved (PG_reserved)    never handed to the buddy allocator
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib/list.h"

namespace k {

enum class PageFlag : uint32_t {
  kReserved = 0,  // not managed by the buddy allocator (holes, firmware, kernel)
  kBuddy,         // head of a free block in a zone's free_area
  kPcp,           // free, cached on a per-CPU list
  kHead,          // first page of a compound page
  kTail,          // other pages of a compound page
  kSlab,          // owned by the slab allocator
  kNoMap,         // RAM outside the linear map (no-map, firmware)
  kZeroed,        // known to contain zeros (set by users that track it)
  kCount,
};
static_assert(static_cast<uint32_t>(PageFlag::kCount) <= 32);

struct Page {
  std::atomic<uint32_t> flags{0};
  uint8_t zone_idx = 0;  // ZoneType within the node
  uint8_t nid = 0;       // NUMA node
  uint16_t order = 0;    // see the table above
  std::atomic<int32_t> refcount{0};
  uint32_t section = 0;  // sparse section number; makes page_to_pfn O(1)
  ListNode lru;
  union {
    // Tail page of a compound page.
    struct {
      Page* head;
    } compound;
    // Slab page (mm/slab.*): first free object, owning cache, counters.
    struct {
      void* freelist;
      void* slab_cache;
      uint32_t inuse;
      uint32_t objects;
    } slab;
    uint64_t raw[3];
  };
  // Owner-private word (Linux page->private).
  uint64_t private_data = 0;

  Page() : raw{0, 0, 0} {}
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;

  static constexpr uint32_t bit(PageFlag f) { return uint32_t{1} << static_cast<uint32_t>(f); }
  bool test(PageFlag f) const { return flags.load(std::memory_order_relaxed) & bit(f); }
  void set(PageFlag f) { flags.fetch_or(bit(f), std::memory_order_relaxed); }
  void clear(PageFlag f) { flags.fetch_and(~bit(f), std::memory_order_relaxed); }

  // Linux-named predicates.
  bool reserved() const { return test(PageFlag::kReserved); }
  bool buddy() const { return test(PageFlag::kBuddy); }
  bool pcp() const { return test(PageFlag::kPcp); }
  bool head() const { return test(PageFlag::kHead); }
  bool tail() const { return test(PageFlag::kTail); }
  bool slab_page() const { return test(PageFlag::kSlab); }

  int ref() const { return refcount.load(std::memory_order_relaxed); }
};

static_assert(sizeof(Page) <= 64, "struct page must stay within 64 bytes");
static_assert(alignof(Page) <= 8);

inline Page* page_from_lru(ListNode* n) { return container_of(n, &Page::lru); }

// The head page of a compound page (the page itself otherwise).
inline Page* compound_head(Page* p) { return p->tail() ? p->compound.head : p; }

// get_page()/put_page_testzero(): the reference count of an allocated page.
inline void get_page(Page* p) {
  compound_head(p)->refcount.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace k
