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
    // `dropped`: free objects cut off with a corrupt freelist pointer
    // (never handed out again; the slab is freed once inuse reaches 0).
    struct {
      void* freelist;
      void* slab_cache;
      uint32_t inuse;
      uint16_t objects;
      uint16_t dropped;
    } slab;
    uint64_t raw[3];
  };
  // Owner-private word (Linux page->private). Slab pages: the address of
  // the first object (colour offset and left red zone included).
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

// ---- whole-struct initialisation (boot memory init) ----
// Boot writes every struct page: as eight 64-bit stores, not field by
// field (each atomic field would cost a read-modify-write). The words:
//   0: flags | zone_idx << 32 | nid << 40 | order << 48
//   1: refcount | section << 32
//   2, 3: lru.next, lru.prev (an unlinked node points at itself)
//   4..6: the union; 7: private_data
static_assert(sizeof(Page) == 64 && sizeof(ListNode) == 16);
static_assert(offsetof(Page, zone_idx) == 4 && offsetof(Page, nid) == 5 &&
              offsetof(Page, order) == 6 && offsetof(Page, refcount) == 8 &&
              offsetof(Page, section) == 12 && offsetof(Page, lru) == 16 &&
              offsetof(Page, private_data) == 56);
inline constexpr uint64_t page_word0(uint32_t flags, uint8_t zone_idx, uint8_t nid) {
  return flags | uint64_t{zone_idx} << 32 | uint64_t{nid} << 40;
}
inline constexpr uint64_t page_word1(uint32_t section) { return uint64_t{section} << 32; }

// (may_alias: the words are stored over the Page's fields; the kernel is
// freestanding, so a memcpy here would be a call, not eight stores.)
using PageWord [[gnu::may_alias]] = uint64_t;

// Stores a whole page: word0/word1 as above, an unlinked lru, zeros.
inline void page_init_words(Page* p, uint64_t word0, uint64_t word1) {
  auto* w = reinterpret_cast<PageWord*>(p);
  const auto lru = reinterpret_cast<uintptr_t>(p) + 16;
  w[0] = word0;
  w[1] = word1;
  w[2] = lru;
  w[3] = lru;
  w[4] = 0;
  w[5] = 0;
  w[6] = 0;
  w[7] = 0;
}
// Stores the first two words only (flags, zone, node, order, refcount,
// section): a reserved page becoming a free one at hand-over.
inline void page_set_words01(Page* p, uint64_t word0, uint64_t word1) {
  auto* w = reinterpret_cast<PageWord*>(p);
  w[0] = word0;
  w[1] = word1;
}

inline Page* page_from_lru(ListNode* n) { return container_of(n, &Page::lru); }

// The head page of a compound page (the page itself otherwise).
inline Page* compound_head(Page* p) { return p->tail() ? p->compound.head : p; }

// get_page()/put_page_testzero(): the reference count of an allocated page.
inline void get_page(Page* p) {
  compound_head(p)->refcount.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace k
