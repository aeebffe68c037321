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

#include "lib/list.h"
#include "lib/spinlock.h"
#include "mm/page.h"
#include "mm/page_map.h"
#include "mm/slab.h"

namespace k {

// One CPU's free objects (Linux SLAB struct array_cache). Only its CPU
// touches it, with interrupts masked; the lock is uncontended except when
// kmem_cache_shrink/destroy drains every CPU's array from one hart (the
// same trade as the page allocator's pcp lock).
struct alignas(kCacheLineSize) KmemCacheCpu {
  SpinLock lock;
  uint32_t avail = 0;      // entries in use: entry[0 .. avail)
  void** entry = nullptr;  // [limit], top is the most recently freed (cache-hot)
  uint64_t alloc_hit = 0, alloc_miss = 0, free_hit = 0, free_miss = 0;
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
  KmemCacheCpu* cpu = nullptr;    // [nr_cpus]
  KmemCacheNode* node = nullptr;  // [nr_nodes], indexed by nid

  bool debug() const { return flags & SLAB_DEBUG_FLAGS; }
  bool poison() const { return (flags & SLAB_POISON) && !ctor; }
  bool red_zone() const { return flags & SLAB_RED_ZONE; }
  uint64_t slab_bytes() const { return kPageSize << order; }
};

// ---- slab pages ----
inline Page* obj_to_slab(const void* obj) {
  Page* p = virt_to_page(obj);
  return p ? compound_head(p) : nullptr;
}
inline char* slab_base(const Page* slab) { return static_cast<char*>(page_address(slab)); }
// First slot: colour offset recorded in the slab's private word.
inline char* slab_first_slot(const Page* slab) { return slab_base(slab) + slab->private_data; }
inline KmemCache* slab_cache(const Page* slab) {
  return static_cast<KmemCache*>(slab->slab.slab_cache);
}

inline void* slot_object(const KmemCache* s, char* slot) { return slot + s->red_left_pad; }
inline char* object_slot(const KmemCache* s, void* obj) {
  return static_cast<char*>(obj) - s->red_left_pad;
}
inline void* object_at(const KmemCache* s, const Page* slab, unsigned i) {
  return slot_object(s, slab_first_slot(slab) + static_cast<uint64_t>(i) * s->size);
}
inline void* get_freepointer(const KmemCache* s, void* obj) {
  return *reinterpret_cast<void**>(static_cast<char*>(obj) + s->offset);
}
inline void set_freepointer(const KmemCache* s, void* obj, void* next) {
  *reinterpret_cast<void**>(static_cast<char*>(obj) + s->offset) = next;
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

}  // namespace k
