// Slab allocator internals shared by slab.cpp, slab_debug.cpp,
// slab_info.cpp and kmalloc.cpp. Not for use outside mm/.
//
// Object slot layout (stride KmemCache::size, every field 8-byte aligned):
//
//   [left red zone][object: object_size][right red zone][free pointer][pad]
//    red_left_pad                         to rz_end        at `offset`
//
// The red zones exist only with SLAB_RED_ZONE (left pad rounded up to the
// alignment so the object stays aligned, right zone at least 8 bytes past
// the object, Linux SLUB's layout). The free pointer (next free object)
// sits outside the object when the object's contents must survive being
// free (poison, ctor, red zone); otherwise in the middle of the object,
// where a small overflow from the previous object does not reach it.
//
// Lock ranks (outer first): g_slab_lock (cache list) -> KmemCacheCpu::lock
// -> KmemCacheNode::list_lock -> page allocator locks. The slab allocator
// never calls itself with a lock held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <arch/memory.h>

#include "lib/list.h"
#include "lib/spinlock.h"
#include "mm/page.h"
#include "mm/page_map.h"
#include "mm/fault_inject.h"
#include "mm/gfp.h"
#include "mm/kfence.h"
#include "mm/numa.h"
#include "mm/slab.h"

namespace k {

// One CPU's free objects (Linux SLAB struct array_cache). Only its CPU
// takes and adds objects, with interrupts masked (interrupt handlers
// allocate too); the lock is uncontended except when kmem_cache_shrink/
// destroy drains every CPU's array from one hart (the same trade as the
// page allocator's pcp lock). The fast path touches this one cache line.
struct alignas(kCacheLineSize) KmemCacheCpu {
  SpinLock lock;
  uint32_t avail = 0;      // entries in use: entry[0 .. avail)
  uint32_t limit = 0;      // capacity of entry (the cache's limit)
  int32_t node = 0;        // NUMA node of this CPU: objects of other nodes bypass the array
  void** entry = nullptr;  // [limit], top is the most recently freed (cache-hot)
  uint64_t alloc_miss = 0, free_miss = 0;  // slow-path entries (refill, flush)
};
// One node's slabs (Linux struct kmem_cache_node).
struct KmemCacheNode {
  // Counted: kmalloc_smp reports its rate (mm/slab_bench.cpp).
  CountingSpinLock list_lock;
  ListHead partial;  // some objects free
  ListHead full;     // no object free
  ListHead empty;    // every object free
  uint64_t nr_partial = 0, nr_full = 0, nr_empty = 0;
  uint64_t total_objects = 0;  // objects in this node's slabs
  uint64_t inuse_objects = 0;  // taken out of slabs (callers + per-CPU arrays)
};

struct KmemCache {
  char name[32] = {};
  uint32_t object_size = 0;  // as requested
  uint32_t size = 0;         // slot stride
  uint32_t align = 0;
  uint32_t red_left_pad = 0;
  uint32_t rz_end = 0;  // end of the right red zone (object-relative)
  uint32_t offset = 0;  // free pointer, object-relative
  slab_flags_t flags = 0;
  void (*ctor)(void*) = nullptr;
  unsigned order = 0;       // pages per slab = 1 << order
  unsigned objects = 0;     // per slab
  gfp_t allocflags = 0;     // zone and compound bits for slab pages
  uint32_t colour_off = 0;  // colour step in bytes
  uint32_t colour = 0;      // number of colours (offsets 0 .. colour-1 steps)
  std::atomic<uint32_t> colour_next{0};
  uint32_t limit = 0;      // per-CPU array size (0: no arrays, debug caches)
  uint32_t batch = 0;      // refill/flush chunk
  uint32_t max_empty = 0;  // empty slabs a node keeps before freeing
  bool boot = false;       // descriptor from boot memory; never destroyed
  ListNode list;           // on g_slab_caches
  unsigned nr_cpus = 0;
  unsigned nr_nodes = 0;
  // nr_cpus when the per-CPU arrays are in use (limit != 0), else 0: the
  // fast paths' one bounds check covers both conditions.
  unsigned nr_fast_cpus = 0;
  uint32_t span = 0;              // objects * size: offsets of valid objects are below it
  uint64_t random = 0;            // freelist pointer secret; 0 = hardening off (slab_harden=0)
  KmemCacheCpu* cpu = nullptr;    // [nr_cpus]
  KmemCacheNode* node = nullptr;  // [nr_nodes], indexed by nid

  bool debug() const { return flags & SLAB_DEBUG_FLAGS; }
  bool poison() const { return (flags & SLAB_POISON) && !ctor; }
  bool red_zone() const { return flags & SLAB_RED_ZONE; }
  uint64_t slab_bytes() const { return kPageSize << order; }
};

// ---- slab pages ----
// The slab head of a linear-map address, nullptr for anything else. The
// kfree/kmem_cache_free fast path: no kernel-image case, one section
// lookup (mm/page_map.h).
inline Page* linear_to_head_page(const void* p) {
  const uint64_t off = reinterpret_cast<uintptr_t>(p) - arch::g_layout.linear_base;
  if (off >= arch::g_layout.linear_size) return nullptr;
  Page* page = pfn_to_page(Pfn((off + arch::g_layout.phys_ram_base) >> kPageShift));
  return page ? compound_head(page) : nullptr;
}
inline Page* obj_to_slab(const void* obj) { return linear_to_head_page(obj); }

// The free fast paths' cheaper form of linear_to_head_page (built by
// kmem_cache_init from the page map): the linear map cut into granules of
// 2^shift bytes (a page-map section, or less when the RAM base is not
// section aligned), each granule one 32-byte entry giving the struct page
// of its first byte and the range of it that has struct pages. One table
// load and two compares, instead of the section walk of pfn_to_page.
struct LinearPageRange {
  uintptr_t page0;  // struct page address of linear offset 0 through this entry
  uint64_t lo;      // linear offsets [lo, lo + len) have struct pages
  uint64_t len;
  uint64_t unused;
};
struct LinearPageIndex {
  uint64_t linear_base = 0;
  uint64_t span = 0;  // linear offsets below it are covered by `ranges`
  unsigned shift = 0;
  const LinearPageRange* ranges = nullptr;
};
extern LinearPageIndex g_linear_pages;

// The struct page of a linear-map address (nullptr: none, or not linear).
// Pages only; the caller checks PG_tail.
inline Page* linear_page_fast(const void* p) {
  const LinearPageIndex& ix = g_linear_pages;
  const uint64_t off = reinterpret_cast<uintptr_t>(p) - ix.linear_base;
  if (off >= ix.span) return nullptr;
  const LinearPageRange& r = ix.ranges[off >> ix.shift];
  if (off - r.lo >= r.len) return nullptr;
  return reinterpret_cast<Page*>(r.page0 + ((off >> kPageShift) * sizeof(Page)));
}
// Builds g_linear_pages; false if its memory cannot be allocated (the fast
// paths then find no page and take the slow paths).
bool linear_page_index_init();
inline char* slab_base(const Page* slab) { return static_cast<char*>(page_address(slab)); }
// First object: its address is kept in the slab's private word (colour
// offset and left red zone applied), so index checks need no page_address.
inline char* slab_first_object(const Page* slab) {
  return reinterpret_cast<char*>(slab->private_data);
}
inline KmemCache* slab_cache(const Page* slab) {
  return static_cast<KmemCache*>(slab->slab.slab_cache);
}

inline void* slot_object(const KmemCache* s, char* slot) { return slot + s->red_left_pad; }
inline char* object_slot(const KmemCache* s, void* obj) {
  return static_cast<char*>(obj) - s->red_left_pad;
}
inline void* object_at(const KmemCache* s, const Page* slab, unsigned i) {
  return slab_first_object(slab) + static_cast<uint64_t>(i) * s->size;
}
// Whether obj is the start of an object of slab (a slab of s): the check
// every free makes.
inline bool slab_valid_object(const KmemCache* s, const Page* slab, const void* obj) {
  const uint64_t off = reinterpret_cast<uintptr_t>(obj) - slab->private_data;
  return off < s->span && off % s->size == 0;
}

// Freelist pointers inside free objects are stored encoded (Linux
// CONFIG_SLAB_FREELIST_HARDENED, mm/slub.c freelist_ptr_encode()):
//   stored = next ^ s->random ^ swab(address of the stored word)
// so an overflow or use-after-free write cannot plant a chosen pointer
// without knowing the per-cache secret, and the byte-swapped address makes
// equal pointers in different slots differ. s->random == 0: plain.
// Byte swap (Linux swab64). Spelled out: rv64imac has no rev8, and GCC's
// __builtin_bswap64 becomes a libgcc call (__bswapdi2, ~30 instructions
// plus the call); these three rounds are 13 with the masks in registers.
inline uint64_t swab64(uint64_t x) {
  constexpr uint64_t k8 = 0x00ff00ff00ff00ffull, k16 = 0x0000ffff0000ffffull;
  x = (x & k8) << 8 | ((x >> 8) & k8);
  x = (x & k16) << 16 | ((x >> 16) & k16);
  return x << 32 | x >> 32;
}
// The stored form of `next` at `where` under `random` (its own inverse).
// A branch, not a select: with hardening off no swab is computed.
inline uint64_t freeptr_encode(uint64_t random, const uint64_t* where, uint64_t next) {
  if (random) next ^= random ^ swab64(reinterpret_cast<uintptr_t>(where));
  return next;
}
inline void* get_freepointer(const KmemCache* s, void* obj) {
  auto* where = reinterpret_cast<uint64_t*>(static_cast<char*>(obj) + s->offset);
  return reinterpret_cast<void*>(freeptr_encode(s->random, where, *where));
}
inline void set_freepointer(const KmemCache* s, void* obj, void* next) {
  auto* where = reinterpret_cast<uint64_t*>(static_cast<char*>(obj) + s->offset);
  *where = freeptr_encode(s->random, where, reinterpret_cast<uintptr_t>(next));
}
// Index of obj in slab, or -1 if obj is not the start of an object slot.
long slab_obj_index(const KmemCache* s, const Page* slab, const void* obj);

inline KmemCacheNode* get_node(KmemCache* s, int nid) { return &s->node[nid]; }

// ---- debug (slab_debug.cpp) ----
// One report: "BUG <cache>: <what>" plus a detail line; counts it.
[[gnu::format(printf, 3, 4)]] void slab_report(const KmemCache* s, const char* what,
                                               const char* fmt, ...);
// Debug flags that slab_debug= asks for on a cache called `name`.
slab_flags_t slab_debug_flags_for(const char* name);
void slab_debug_reset();
// Object state setup when a slab is created / an object is taken / freed.
void init_object_debug(const KmemCache* s, void* obj, bool active);
// Checks before handing out a free object: poison and inactive red zones.
// Reports and repairs; true if the object was intact.
bool check_object_free(const KmemCache* s, const Page* slab, void* obj);
// Checks at free time: active red zones. Reports and repairs.
bool check_object_inuse(const KmemCache* s, const Page* slab, void* obj);
// Whether obj is on the slab's freelist (double free); node lock held.
bool on_freelist(const KmemCache* s, const Page* slab, const void* obj);
// Slab padding (bytes not covered by slots) set to / checked for POISON_INUSE.
void init_slab_padding(const KmemCache* s, const Page* slab);
bool check_slab_padding(const KmemCache* s, const Page* slab);

// ---- cache list (slab.cpp) ----
extern SpinLock g_slab_lock;
extern ListHead g_slab_caches;
inline KmemCache* cache_from_list(ListNode* n) { return container_of(n, &KmemCache::list); }

// Moves every object of every CPU's array back to the slabs.
void drain_all_cpu_arrays(KmemCache* s);

// ---- kmalloc glue ----
// A cache whose descriptor comes from boot memory and which can never be
// destroyed; panics on failure (slab.cpp).
KmemCache* create_boot_cache(const char* name, size_t size, size_t align, slab_flags_t flags);
// kmalloc.cpp
void kmalloc_init();
void kmalloc_reset();

// ---- fast paths ----
// Inline so that kmalloc/kfree and kmem_cache_alloc/free each run one
// function; everything else is in the out-of-line slow paths (slab.cpp):
// an empty array (refill), another node, a debug cache, a CPU without an
// array, nullptr.
void* slab_alloc_slow(KmemCache* s, gfp_t gfp, int nid);
// The fast path declined: the array is full (flush a batch), the object is
// its top (double free), another node's object, a debug cache.
void slab_free_slow(KmemCache* s, Page* slab, void* obj);

// The per-CPU fast path (Linux SLAB ____cache_alloc): with interrupts
// masked on this hart (interrupt handlers allocate too), pop the most
// recently freed object of this CPU's array. One cache line of per-CPU
// data, an uncontended lock; everything else is alloc_slow.
// Every slab allocation (kmem_cache_alloc*, kmalloc*) enters here:
// allocation hooks (fault injection, KFENCE sampling) go first.
[[gnu::always_inline]] inline void* slab_alloc(KmemCache* s, gfp_t gfp, int nid) {
  if (s) [[likely]] {
    if (should_failslab(s->object_size, gfp)) [[unlikely]]
      return nullptr;  // mm/fault_inject.h
    if (kfence_alloc_due()) [[unlikely]]
      return kfence_alloc_node(s, gfp, nid);  // mm/kfence.h
    const unsigned long irq = arch::irq_save();
    const unsigned cpu = arch::this_cpu();
    if (cpu < s->nr_fast_cpus) [[likely]] {
      KmemCacheCpu* c = &s->cpu[cpu];
      if (nid == NUMA_NO_NODE || nid == c->node) [[likely]] {
        c->lock.lock();
        const size_t avail = c->avail;
        if (avail) [[likely]] {
          void* obj = c->entry[avail - 1];
          c->avail = static_cast<uint32_t>(avail - 1);
          c->lock.unlock();
          arch::irq_restore(irq);
          if (gfp & __GFP_ZERO) [[unlikely]]
            return std::memset(obj, 0, s->object_size);
          return obj;
        }
        c->lock.unlock();
      }
    }
    arch::irq_restore(irq);
  }
  return slab_alloc_slow(s, gfp, nid);
}

// The per-CPU fast free: push onto this CPU's array unless it is full, the
// object is its top already (naive double free; entry[-1] is a nullptr
// sentinel, so an empty array needs no extra test), or the object belongs
// to another node.
[[gnu::always_inline]] inline void slab_free(KmemCache* s, Page* slab, void* obj) {
  const unsigned long irq = arch::irq_save();
  const unsigned cpu = arch::this_cpu();
  if (cpu < s->nr_fast_cpus) [[likely]] {
    KmemCacheCpu* c = &s->cpu[cpu];
    if (slab->nid == c->node) [[likely]] {
      c->lock.lock();
      const size_t avail = c->avail;
      void** top = c->entry + avail;
      if (avail < c->limit && top[-1] != obj) [[likely]] {
        *top = obj;
        c->avail = static_cast<uint32_t>(avail + 1);
        c->lock.unlock();
        arch::irq_restore(irq);
        return;
      }
      c->lock.unlock();
    }
  }
  arch::irq_restore(irq);
  slab_free_slow(s, slab, obj);
}

// ---- hardening (slab.cpp) ----
// A new per-cache freelist secret (never 0), or 0 with slab_harden=0.
uint64_t slab_new_random();

}  // namespace k
