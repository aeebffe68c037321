// Memory pools (Linux mm/mempool.c); see mm/mempool.h.
#include "mm/mempool.h"

#include <cstdint>
#include <new>

#include "kernel/printk.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"

namespace k {

namespace {

// Pool lock held.
inline void add_element(MempoolT* pool, void* element) {
  pool->elements[pool->curr_nr++] = element;
}
inline void* remove_element(MempoolT* pool) { return pool->elements[--pool->curr_nr]; }

void free_pool(MempoolT* pool) {
  while (pool->curr_nr) pool->free(remove_element(pool), pool->pool_data);
  kfree(pool->elements);
  kfree(pool);
}

}  // namespace

MempoolT* mempool_create_node(int min_nr, mempool_alloc_t alloc_fn, mempool_free_t free_fn,
                              void* pool_data, gfp_t gfp, int nid) {
  if (min_nr < 0 || !alloc_fn || !free_fn) {
    pr_err("mempool_create: bad arguments (min_nr %d)\n", min_nr);
    return nullptr;
  }
  auto* pool = static_cast<MempoolT*>(kzalloc_node(sizeof(MempoolT), gfp, nid));
  if (!pool) return nullptr;
  new (pool) MempoolT();
  pool->elements = static_cast<void**>(
      kmalloc_array(static_cast<size_t>(min_nr ? min_nr : 1), sizeof(void*), gfp));
  if (!pool->elements) {
    kfree(pool);
    return nullptr;
  }
  pool->min_nr = min_nr;
  pool->pool_data = pool_data;
  pool->alloc = alloc_fn;
  pool->free = free_fn;
  while (pool->curr_nr < pool->min_nr) {
    void* e = alloc_fn(gfp, pool_data);
    if (!e) {
      free_pool(pool);
      return nullptr;
    }
    add_element(pool, e);
  }
  return pool;
}

MempoolT* mempool_create(int min_nr, mempool_alloc_t alloc_fn, mempool_free_t free_fn,
                         void* pool_data) {
  return mempool_create_node(min_nr, alloc_fn, free_fn, pool_data, GFP_KERNEL, NUMA_NO_NODE);
}

void mempool_destroy(MempoolT* pool) {
  if (!pool) return;
  if (pool->curr_nr != pool->min_nr)
    pr_warn("mempool_destroy: %d of %d reserve elements still out\n", pool->min_nr - pool->curr_nr,
            pool->min_nr);
  free_pool(pool);
}

void* mempool_alloc(MempoolT* pool, gfp_t gfp) {
  // First try: the backing allocator, without its emergency reserves and
  // without warning (Linux masks __GFP_DIRECT_RECLAIM|__GFP_IO and adds
  // __GFP_NOMEMALLOC|__GFP_NORETRY|__GFP_NOWARN).
  const gfp_t first = (gfp & ~(__GFP_DIRECT_RECLAIM | __GFP_IO | __GFP_HIGH | __GFP_NOFAIL)) |
                      __GFP_NORETRY | __GFP_NOWARN;
  if (void* e = pool->alloc(first, pool->pool_data)) return e;
  {
    IrqSpinLockGuard g(pool->lock);
    if (pool->curr_nr) {
      ++pool->reserve_allocs;
      return remove_element(pool);
    }
  }
  if (!gfpflags_allow_blocking(gfp)) return nullptr;
  return pool->alloc(gfp, pool->pool_data);
}

void mempool_free(void* element, MempoolT* pool) {
  if (!element) return;
  // Unlocked peek first, like Linux: most frees find the reserve full.
  if (__atomic_load_n(&pool->curr_nr, __ATOMIC_RELAXED) < pool->min_nr) {
    IrqSpinLockGuard g(pool->lock);
    if (pool->curr_nr < pool->min_nr) {
      add_element(pool, element);
      return;
    }
  }
  pool->free(element, pool->pool_data);
}

void* mempool_alloc_slab(gfp_t gfp, void* pool_data) {
  return kmem_cache_alloc(static_cast<KmemCache*>(pool_data), gfp);
}
void mempool_free_slab(void* element, void* pool_data) {
  kmem_cache_free(static_cast<KmemCache*>(pool_data), element);
}
void* mempool_kmalloc(gfp_t gfp, void* pool_data) {
  return kmalloc(reinterpret_cast<uintptr_t>(pool_data), gfp);
}
void mempool_kfree(void* element, void*) { kfree(element); }
void* mempool_alloc_pages(gfp_t gfp, void* pool_data) {
  return alloc_pages(gfp, static_cast<unsigned>(reinterpret_cast<uintptr_t>(pool_data)));
}
void mempool_free_pages(void* element, void* pool_data) {
  __free_pages(static_cast<Page*>(element),
               static_cast<unsigned>(reinterpret_cast<uintptr_t>(pool_data)));
}

MempoolT* mempool_create_slab_pool(int min_nr, KmemCache* cache) {
  if (!cache) return nullptr;
  return mempool_create(min_nr, mempool_alloc_slab, mempool_free_slab, cache);
}
MempoolT* mempool_create_kmalloc_pool(int min_nr, size_t size) {
  return mempool_create(min_nr, mempool_kmalloc, mempool_kfree, reinterpret_cast<void*>(size));
}
MempoolT* mempool_create_page_pool(int min_nr, unsigned order) {
  return mempool_create(min_nr, mempool_alloc_pages, mempool_free_pages,
                        reinterpret_cast<void*>(static_cast<uintptr_t>(order)));
}

}  // namespace k
