// mempool: the reserve is used exactly when the backing allocator fails,
// refilled first on free; slab, kmalloc and page pools.
#include "mm/mempool.h"
#include "slab_test_machine.h"

namespace {

using k::GFP_ATOMIC;
using k::GFP_KERNEL;
using slabtest::SlabFixture;

class Mempool : public SlabFixture {};

// A backing allocator over kmalloc(64) that fails on demand.
struct Flaky {
  bool fail = false;
  int allocs = 0, frees = 0;
};
void* flaky_alloc(k::gfp_t gfp, void* data) {
  auto* f = static_cast<Flaky*>(data);
  if (f->fail) return nullptr;
  ++f->allocs;
  return k::kmalloc(64, gfp);
}
void flaky_free(void* e, void* data) {
  ++static_cast<Flaky*>(data)->frees;
  k::kfree(e);
}

TEST_F(Mempool, reserve_serves_only_when_the_backing_allocator_fails) {
  Flaky f;
  k::MempoolT* pool = k::mempool_create(4, flaky_alloc, flaky_free, &f);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->curr_nr, 4);
  EXPECT_EQ(f.allocs, 4);
  void* a = k::mempool_alloc(pool, GFP_KERNEL);
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(pool->curr_nr, 4) << "backing allocator first";
  f.fail = true;
  void* r[4];
  for (auto& e : r) {
    e = k::mempool_alloc(pool, GFP_ATOMIC);
    EXPECT_NE(e, nullptr);
  }
  EXPECT_EQ(pool->curr_nr, 0);
  EXPECT_EQ(pool->reserve_allocs, 4u);
  EXPECT_EQ(k::mempool_alloc(pool, GFP_ATOMIC), nullptr) << "both failed";
  EXPECT_EQ(k::mempool_alloc(pool, GFP_KERNEL), nullptr) << "no sleeping yet";
  // Frees refill the reserve before anything goes back.
  k::mempool_free(a, pool);
  EXPECT_EQ(pool->curr_nr, 1);
  EXPECT_EQ(f.frees, 0);
  for (void* e : r) k::mempool_free(e, pool);
  EXPECT_EQ(pool->curr_nr, 4);
  EXPECT_EQ(f.frees, 1) << "the fifth element went back to the allocator";
  k::mempool_free(nullptr, pool);
  f.fail = false;
  k::mempool_destroy(pool);
  EXPECT_EQ(f.frees, 5);
  EXPECT_EQ(f.allocs, 5);
}

TEST_F(Mempool, create_fails_cleanly_when_the_reserve_cannot_be_filled) {
  Flaky f;
  f.fail = true;
  EXPECT_EQ(k::mempool_create(3, flaky_alloc, flaky_free, &f), nullptr);
  EXPECT_EQ(k::mempool_create(-1, flaky_alloc, flaky_free, &f), nullptr);
  EXPECT_EQ(k::mempool_create(1, nullptr, flaky_free, &f), nullptr);
  k::mempool_destroy(nullptr);
}

TEST_F(Mempool, slab_kmalloc_and_page_pools) {
  k::KmemCache* c = k::kmem_cache_create("pool_objs", 200, 0, 0, nullptr);
  k::MempoolT* sp = k::mempool_create_slab_pool(8, c);
  k::MempoolT* kp = k::mempool_create_kmalloc_pool(2, 3000);
  k::MempoolT* pp = k::mempool_create_page_pool(2, 1);
  ASSERT_TRUE(sp && kp && pp);
  void* o = k::mempool_alloc(sp, GFP_KERNEL);
  EXPECT_EQ(k::virt_to_cache(o), c);
  void* m = k::mempool_alloc(kp, GFP_KERNEL);
  EXPECT_EQ(k::ksize(m), 4096u);
  auto* pg = static_cast<k::Page*>(k::mempool_alloc(pp, GFP_KERNEL));
  EXPECT_EQ(pg->order, 1u);
  k::mempool_free(o, sp);
  k::mempool_free(m, kp);
  k::mempool_free(pg, pp);
  k::mempool_destroy(sp);
  k::mempool_destroy(kp);
  k::mempool_destroy(pp);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

}  // namespace
