// On-target self-tests of mempool (suite `mempool`): the reserve serves
// when an injected backing allocator fails, and is refilled first.
#include "kernel/selftest.h"
#include "mm/kmalloc.h"
#include "mm/mempool.h"
#include "mm/page.h"
#include "mm/slab.h"

namespace k {
namespace {

struct Flaky {
  KmemCache* cache;
  bool fail;
};
void* flaky_alloc(gfp_t gfp, void* data) {
  auto* f = static_cast<Flaky*>(data);
  return f->fail ? nullptr : kmem_cache_alloc(f->cache, gfp);
}
void flaky_free(void* e, void* data) { kmem_cache_free(static_cast<Flaky*>(data)->cache, e); }

}  // namespace

SELFTEST(mempool, reserve_serves_when_the_allocator_fails) {
  Flaky f{kmem_cache_create("st_pool", 256, 0, 0, nullptr), false};
  KASSERT(f.cache != nullptr);
  MempoolT* pool = mempool_create(4, flaky_alloc, flaky_free, &f);
  KASSERT(pool != nullptr);
  void* a = mempool_alloc(pool, GFP_KERNEL);
  KEXPECT(a != nullptr);
  KEXPECT_EQ(pool->curr_nr, 4);
  f.fail = true;
  void* r[4];
  for (void*& e : r) {
    e = mempool_alloc(pool, GFP_ATOMIC);
    KEXPECT(e != nullptr);
  }
  KEXPECT_EQ(pool->curr_nr, 0);
  KEXPECT(mempool_alloc(pool, GFP_ATOMIC) == nullptr);
  mempool_free(a, pool);
  KEXPECT_EQ(pool->curr_nr, 1);
  for (void* e : r) mempool_free(e, pool);
  KEXPECT_EQ(pool->curr_nr, 4);
  f.fail = false;
  mempool_destroy(pool);
  KEXPECT(kmem_cache_destroy(f.cache));
}

SELFTEST(mempool, page_and_kmalloc_pools) {
  MempoolT* pp = mempool_create_page_pool(2, 2);
  MempoolT* kp = mempool_create_kmalloc_pool(3, 1500);
  KASSERT(pp && kp);
  auto* pg = static_cast<Page*>(mempool_alloc(pp, GFP_KERNEL));
  void* m = mempool_alloc(kp, GFP_KERNEL);
  KEXPECT(pg != nullptr && m != nullptr);
  KEXPECT_EQ(ksize(m), 2048u);
  mempool_free(pg, pp);
  mempool_free(m, kp);
  mempool_destroy(pp);
  mempool_destroy(kp);
}

}  // namespace k
