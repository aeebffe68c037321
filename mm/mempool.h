// Memory pools: allocations that must not fail for lack of memory keep a
// reserve of pre-allocated elements (Linux include/linux/mempool.h).
//
//   MempoolT* pool = mempool_create_slab_pool(16, bio_cache);
//   void* bio = mempool_alloc(pool, GFP_NOIO-ish gfp);   // backing allocator first,
//   mempool_free(bio, pool);                             // refills the reserve first
//   mempool_destroy(pool);
//
// mempool_alloc asks the backing allocator first (without digging into
// the page allocator's reserves), and only when that fails takes an
// element from the reserve. mempool_free puts elements back into the
// reserve until it is full again, then returns them to the backing
// allocator. With no scheduler to sleep on yet, a caller whose request
// may block gets one more try of the backing allocator with its full GFP
// flags when the reserve is empty, and nullptr after that (Linux would
// wait for a mempool_free); a non-blocking caller gets nullptr at once.
//
// Safe on every hart at once, with interrupts on or off (the pool lock is
// taken with interrupts masked and never held across the backing
// allocator).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/spinlock.h"
#include "mm/gfp.h"

namespace k {

struct KmemCache;

using mempool_alloc_t = void* (*)(gfp_t gfp, void* pool_data);
using mempool_free_t = void (*)(void* element, void* pool_data);

struct MempoolT {
  SpinLock lock;
  int min_nr = 0;             // reserve size
  int curr_nr = 0;            // elements in the reserve now
  void** elements = nullptr;  // [min_nr]
  void* pool_data = nullptr;
  mempool_alloc_t alloc = nullptr;
  mempool_free_t free = nullptr;
  // Statistics (tests, debugging): allocations served from the reserve.
  uint64_t reserve_allocs = 0;
};
using mempool_t = MempoolT;

// A pool with min_nr elements pre-allocated with alloc_fn(GFP_KERNEL).
// nullptr (everything given back) if min_nr < 0, a function is missing,
// or the reserve cannot be filled.
MempoolT* mempool_create(int min_nr, mempool_alloc_t alloc_fn, mempool_free_t free_fn,
                         void* pool_data);
MempoolT* mempool_create_node(int min_nr, mempool_alloc_t alloc_fn, mempool_free_t free_fn,
                              void* pool_data, gfp_t gfp, int nid);
// Frees the reserve and the pool. Every element handed out must have come
// back (mempool_free) first. nullptr is ignored.
void mempool_destroy(MempoolT* pool);

void* mempool_alloc(MempoolT* pool, gfp_t gfp);
// nullptr is ignored.
void mempool_free(void* element, MempoolT* pool);

// Backing allocators (Linux names): a slab cache (pool_data = KmemCache*),
// kmalloc of a fixed size (pool_data = size), pages of an order
// (pool_data = order; elements are struct Page*).
void* mempool_alloc_slab(gfp_t gfp, void* pool_data);
void mempool_free_slab(void* element, void* pool_data);
void* mempool_kmalloc(gfp_t gfp, void* pool_data);
void mempool_kfree(void* element, void* pool_data);
void* mempool_alloc_pages(gfp_t gfp, void* pool_data);
void mempool_free_pages(void* element, void* pool_data);

MempoolT* mempool_create_slab_pool(int min_nr, KmemCache* cache);
MempoolT* mempool_create_kmalloc_pool(int min_nr, size_t size);
MempoolT* mempool_create_page_pool(int min_nr, unsigned order);

}  // namespace k
