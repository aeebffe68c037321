// kmalloc: general-purpose kernel memory (Linux include/linux/slab.h).
//
// Sizes up to KMALLOC_MAX_CACHE_SIZE come from the size-class caches
// kmalloc-8 .. kmalloc-8192 (plus kmalloc-96 and kmalloc-192); larger sizes
// come straight from the page allocator as compound pages and are found
// again by kfree through their struct page. Power-of-two sizes are
// naturally aligned; every object is at least 8-byte aligned. GFP_DMA and
// GFP_DMA32 select the dma-kmalloc-* and dma32-kmalloc-* caches (pages
// from ZONE_DMA / ZONE_DMA32).
//
// Allocation functions return nullptr on failure, and on a size whose
// computation overflows. kmalloc(0) returns ZERO_SIZE_PTR, a distinct
// non-null pointer into the unmapped first page, so that a dereference
// faults; kfree(ZERO_SIZE_PTR) and kfree(nullptr) do nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mm/gfp.h"
#include "mm/kfence.h"
#include "mm/numa.h"

namespace k {

// Linux include/linux/slab.h ZERO_SIZE_PTR.
inline void* const ZERO_SIZE_PTR = reinterpret_cast<void*>(16);
inline bool ZERO_OR_NULL_PTR(const void* p) { return reinterpret_cast<uintptr_t>(p) <= 16; }

inline constexpr size_t KMALLOC_MIN_SIZE = 8;
inline constexpr size_t KMALLOC_SHIFT_HIGH = 13;
inline constexpr size_t KMALLOC_MAX_CACHE_SIZE = size_t{1} << KMALLOC_SHIFT_HIGH;  // 8 KiB
// Largest kmalloc: one maximal buddy block (4 MiB).
inline constexpr size_t KMALLOC_MAX_SIZE = size_t{4096} << 10;

struct KmemCache;
void* kmem_cache_alloc(KmemCache* s, gfp_t gfp);  // mm/slab.h

// Index of the size class serving `size` (1 .. KMALLOC_MAX_CACHE_SIZE), 0
// outside that range. Class sizes: kmalloc_class_size(index); 1 and 2 are
// the 96- and 192-byte classes (Linux kmalloc_info[]).
constexpr unsigned kmalloc_index(size_t size) {
  if (size == 0 || size > KMALLOC_MAX_CACHE_SIZE) return 0;
  if (size <= 8) return 3;
  if (size <= 16) return 4;
  if (size <= 32) return 5;
  if (size <= 64) return 6;
  if (size <= 96) return 1;
  if (size <= 128) return 7;
  if (size <= 192) return 2;
  unsigned shift = 8;  // 256
  while ((size_t{1} << shift) < size) ++shift;
  return shift;
}
size_t kmalloc_class_size(unsigned index);

// The caches of the normal (not DMA) size classes, by kmalloc_index;
// nullptr before kmem_cache_init.
extern KmemCache* kmalloc_caches[KMALLOC_SHIFT_HIGH + 1];

// kmalloc without the compile-time shortcut below.
void* __kmalloc(size_t size, gfp_t gfp);
void* kmalloc_node(size_t size, gfp_t gfp, int nid);
// A size and zone known at compile time pick the cache at compile time
// (Linux kmalloc()): the call is kmem_cache_alloc's fast path directly.
[[gnu::always_inline]] inline void* kmalloc(size_t size, gfp_t gfp) {
  if (__builtin_constant_p(size) && __builtin_constant_p(gfp) && kmalloc_index(size) &&
      !(gfp & (__GFP_DMA | __GFP_DMA32))) {
    // A KFENCE sample due takes __kmalloc, which samples with the size
    // asked for (mm/kfence.h).
    if (KmemCache* s = kmalloc_caches[kmalloc_index(size)]; s && !kfence_kmalloc_due())
      return kmem_cache_alloc(s, gfp);
  }
  return __kmalloc(size, gfp);
}
inline void* kzalloc(size_t size, gfp_t gfp) { return kmalloc(size, gfp | __GFP_ZERO); }
inline void* kzalloc_node(size_t size, gfp_t gfp, int nid) {
  return kmalloc_node(size, gfp | __GFP_ZERO, nid);
}
// n * size bytes; nullptr if the product overflows.
void* kmalloc_array(size_t n, size_t size, gfp_t gfp);
inline void* kcalloc(size_t n, size_t size, gfp_t gfp) {
  return kmalloc_array(n, size, gfp | __GFP_ZERO);
}

// Resizes p (from kmalloc) to new_size, moving it if it does not fit;
// contents up to the smaller size are kept. krealloc(nullptr, n) is
// kmalloc(n); new_size 0 frees p and returns ZERO_SIZE_PTR. On failure
// returns nullptr and p is untouched. __GFP_ZERO zeroes the bytes beyond
// the old usable size (Linux semantics).
void* krealloc(const void* p, size_t new_size, gfp_t gfp);

void kfree(const void* p);
// Usable size of a kmalloc'd object (its size class, or the pages of a
// large allocation); 0 for nullptr/ZERO_SIZE_PTR and foreign pointers.
size_t ksize(const void* p);

// kmalloc, or vmalloc for sizes the page allocator cannot serve at once
// (mm/vmalloc.h); free with kvfree.
void* kvmalloc(size_t size, gfp_t gfp);
void* kvmalloc_node(size_t size, gfp_t gfp, int nid);
inline void* kvzalloc(size_t size, gfp_t gfp) { return kvmalloc(size, gfp | __GFP_ZERO); }
void* kvmalloc_array(size_t n, size_t size, gfp_t gfp);
void kvfree(const void* p);

// Pages held by large (page-allocator) kmalloc allocations right now.
uint64_t kmalloc_large_pages();

}  // namespace k
