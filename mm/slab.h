// The slab allocator: caches of equally sized objects (Linux
// include/linux/slab.h, kmem_cache_* API).
//
//   KmemCache* c = kmem_cache_create("inode", sizeof(Inode), 0, SLAB_HWCACHE_ALIGN, nullptr);
//   auto* i = static_cast<Inode*>(kmem_cache_alloc(c, GFP_KERNEL));
//   kmem_cache_free(c, i);
//   kmem_cache_destroy(c);
//
// Design (mm/slab_internal.h has the structures): a slab is one buddy block
// of 2^order pages (compound for order > 0) cut into objects; the struct
// page of its head records the cache, the first free object, the address
// of its first object and the number of objects in use, so the struct page
// of any object address leads to cache and slab (on the free fast path via
// a per-granule table of the linear map, one lookup). Each NUMA node of a
// cache keeps full, partial and empty slab lists under its own lock. In
// front of the node lists every CPU has an array of free objects (Linux
// SLAB's array_cache): the fast path (inline, slab_alloc/slab_free) pops or
// pushes one pointer with interrupts masked, reaching the array through
// `tp`; refills and flushes move a batch under the node lock. Pointers
// inside free objects are encoded (freelist hardening, below).
//
// Debug caches (SLAB_POISON, SLAB_RED_ZONE, SLAB_CONSISTENCY_CHECKS, from
// the flags or from the `slab_debug=` boot argument) bypass the per-CPU
// arrays, like Linux SLUB's debug caches, so that every free is checked
// against the slab it belongs to. Every misuse is reported with the cache
// name, the object address and the offending byte, and refused (a bad free
// changes nothing); see slab_debug.cpp.
//
// All functions are safe on every hart at once, with interrupts on or off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mm/gfp.h"

namespace k {

using slab_flags_t = uint32_t;

// Flag names and meanings from Linux include/linux/slab.h (bit values are
// this kernel's own).
inline constexpr slab_flags_t SLAB_CONSISTENCY_CHECKS = 1u << 0;  // full checks on free ("F")
inline constexpr slab_flags_t SLAB_RED_ZONE = 1u << 1;       // guard bytes around objects ("Z")
inline constexpr slab_flags_t SLAB_POISON = 1u << 2;         // poison free objects ("P")
inline constexpr slab_flags_t SLAB_HWCACHE_ALIGN = 1u << 3;  // align objects to cache lines
inline constexpr slab_flags_t SLAB_CACHE_DMA = 1u << 4;      // slabs from ZONE_DMA
inline constexpr slab_flags_t SLAB_CACHE_DMA32 = 1u << 5;    // slabs from ZONE_DMA32
inline constexpr slab_flags_t SLAB_PANIC = 1u << 6;          // panic if creation fails
inline constexpr slab_flags_t SLAB_NO_DEBUG = 1u << 7;       // ignore slab_debug= (internal caches)

inline constexpr slab_flags_t SLAB_DEBUG_FLAGS =
    SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON;

// Byte patterns (Linux include/linux/poison.h).
inline constexpr uint8_t POISON_INUSE = 0x5a;       // allocated, not yet initialised; slab padding
inline constexpr uint8_t POISON_FREE = 0x6b;        // freed object
inline constexpr uint8_t POISON_END = 0xa5;         // last byte of a freed object
inline constexpr uint8_t SLUB_RED_INACTIVE = 0xbb;  // red zone of a free object
inline constexpr uint8_t SLUB_RED_ACTIVE = 0xcc;    // red zone of an allocated object

// Objects are at least this aligned (Linux ARCH_SLAB_MINALIGN on 64-bit).
inline constexpr size_t kSlabMinAlign = 8;
// L1 line size of the harts we run on (U74, QEMU); SLAB_HWCACHE_ALIGN unit.
inline constexpr size_t kCacheLineSize = 64;

struct KmemCache;
using kmem_cache = KmemCache;

// Creates a cache of objects of `size` bytes aligned to `align` (0: 8; a
// power of two otherwise). ctor, if given, runs once per object when its
// slab is created; freed objects must be returned in constructed state.
// The name is copied (up to 31 characters). Returns nullptr (after a
// pr_err) on bad arguments or no memory; with SLAB_PANIC it panics instead.
KmemCache* kmem_cache_create(const char* name, size_t size, size_t align, slab_flags_t flags,
                             void (*ctor)(void*));

// An object, nullptr on failure. __GFP_ZERO zeroes it; zone modifiers are
// ignored (the cache's flags choose the zone).
void* kmem_cache_alloc(KmemCache* s, gfp_t gfp);
// An object from node nid if it has memory (NUMA_NO_NODE: this CPU's node).
void* kmem_cache_alloc_node(KmemCache* s, gfp_t gfp, int nid);
inline void* kmem_cache_zalloc(KmemCache* s, gfp_t gfp) {
  return kmem_cache_alloc(s, gfp | __GFP_ZERO);
}

// Returns obj to s. nullptr is ignored. A pointer that is not an object of
// s (not slab memory, another cache's object, inside an object, already
// free in debug mode) is reported and not freed.
void kmem_cache_free(KmemCache* s, void* obj);

// Empties every CPU's object array of s and returns all empty slabs to the
// page allocator. Returns the number of pages released.
uint64_t kmem_cache_shrink(KmemCache* s);

// Shrinks and frees s. Refuses (returns false, after listing the live
// objects with pr_err) while objects are allocated, and for the kmalloc
// caches. nullptr is ignored (returns true).
bool kmem_cache_destroy(KmemCache* s);

// Object size as created, and the name.
size_t kmem_cache_size(const KmemCache* s);
const char* kmem_cache_name(const KmemCache* s);
slab_flags_t kmem_cache_flags(const KmemCache* s);

// The cache an object belongs to, nullptr if p is not in a slab.
KmemCache* virt_to_cache(const void* p);

// Boot: sets up the slab allocator and the kmalloc caches (mm/kmalloc.h).
// Runs after the page allocator and NUMA nodes are up and after the CPU
// count is known. `cmdline` is the kernel command line; its `slab_debug=`
// is applied (see slab_parse_debug). Host tests call it again for every
// fake machine; it forgets all caches of the previous one.
void kmem_cache_init(std::string_view cmdline = {});
bool slab_is_available();

// Freelist hardening (Linux CONFIG_SLAB_FREELIST_HARDENED): free objects
// store their next pointer as ptr ^ secret ^ swab(address of the pointer)
// with a random secret per cache; every decoded pointer is checked to be
// an object of its slab (a bad one is reported and the rest of that
// slab's freelist dropped), and freeing the freelist head again is
// refused. On by default; `slab_harden=0` turns it off (benchmarks).
bool slab_hardened();
// Mixes boot-loader entropy (DT /chosen rng-seed, kaslr-seed) into the
// seed of the per-cache secrets; call before kmem_cache_init.
void slab_add_randomness(const void* data, size_t len);

// Parses a Linux-style `slab_debug=` value and remembers it for caches
// created from now on (call before kmem_cache_init to cover kmalloc):
//   ""                 (bare `slab_debug`) F, Z and P for every cache
//   "FZP"              the given flags for every cache
//   "ZP,kmalloc-64,foo" the flags for the named caches only
//   "-"                debugging off
// Flags: F consistency checks, Z red zone, P poison; U and T are accepted
// and ignored (no user tracking). false (after a pr_warn) on other input;
// the valid part still applies.
bool slab_parse_debug(std::string_view value);
// The same from code: flags for every cache, or for one named cache.
void slab_set_debug_flags(slab_flags_t flags, std::string_view only_cache = {});

// Checks every object of s: free objects' poison and red zones, allocated
// objects' red zones, slab padding. Reports and repairs each corruption;
// returns the number of corruptions found.
unsigned kmem_cache_validate(KmemCache* s);

// Prints /proc/slabinfo (version 2.1) with pr_info.
void slabinfo_dump();

// Objects handed out to callers, over all caches (per-CPU arrays excluded).
uint64_t slab_nr_objects();
// Pages held by slabs after shrinking every cache (so that cached empty
// slabs do not count as leaks).
uint64_t slab_nr_pages_shrunk();
// Pages held by slabs right now (no shrinking).
uint64_t slab_nr_pages();
// Number of corruption/misuse reports made (tests count them).
uint64_t slab_nr_reports();

}  // namespace k
