// Freelist hardening (issue 9 item 4, Linux CONFIG_SLAB_FREELIST_HARDENED):
// the encoding of stored free pointers, per-cache secrets, detection of a
// planted pointer and of the naive double free, and slab_harden=0.
#include <cstring>
#include <set>
#include <vector>

#include "slab_test_machine.h"

namespace {

using k::GFP_KERNEL;
using k::KmemCache;
using slabtest::count;
using slabtest::SlabFixture;

class SlabHarden : public SlabFixture {};

uint64_t stored_word(const KmemCache* c, void* obj) {
  uint64_t v;
  std::memcpy(&v, static_cast<char*>(obj) + c->offset, sizeof v);
  return v;
}

TEST_F(SlabHarden, stored_pointer_is_ptr_xor_secret_xor_swabbed_address) {
  KmemCache* c = k::kmem_cache_create("h_enc", 64, 0, 0, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(k::slab_hardened());
  EXPECT_NE(c->random, 0u);
  void* a = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* b = k::kmem_cache_alloc(c, GFP_KERNEL);
  ASSERT_TRUE(a && b);
  // Round trip through the slot, and the exact formula.
  k::set_freepointer(c, a, b);
  EXPECT_EQ(k::get_freepointer(c, a), b);
  const auto where = reinterpret_cast<uintptr_t>(static_cast<char*>(a) + c->offset);
  EXPECT_EQ(stored_word(c, a),
            reinterpret_cast<uintptr_t>(b) ^ c->random ^ __builtin_bswap64(where));
  // The same pointer stored in two slots differs (the address term), and
  // nullptr is not stored as 0.
  k::set_freepointer(c, b, b);
  EXPECT_NE(stored_word(c, a), stored_word(c, b));
  k::set_freepointer(c, a, nullptr);
  EXPECT_NE(stored_word(c, a), 0u);
  EXPECT_EQ(k::get_freepointer(c, a), nullptr);
  k::kmem_cache_free(c, a);
  k::kmem_cache_free(c, b);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabHarden, every_cache_has_its_own_secret) {
  std::set<uint64_t> secrets;
  std::vector<KmemCache*> caches;
  for (int i = 0; i < 16; ++i) {
    caches.push_back(
        k::kmem_cache_create(("h_sec" + std::to_string(i)).c_str(), 32, 0, 0, nullptr));
    ASSERT_NE(caches.back(), nullptr);
    secrets.insert(caches.back()->random);
  }
  EXPECT_EQ(secrets.size(), caches.size());
  for (KmemCache* c : caches) EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabHarden, planted_pointer_is_reported_and_the_cache_keeps_working) {
  KmemCache* c = k::kmem_cache_create("h_plant", 64, 0, 0, nullptr);
  ASSERT_NE(c, nullptr);
  void* first = k::kmem_cache_alloc(c, GFP_KERNEL);
  ASSERT_NE(first, nullptr);
  k::Page* slab = k::obj_to_slab(first);
  void* victim = slab->slab.freelist;
  ASSERT_NE(victim, nullptr);
  // A plain pointer to another object of the same slab: what an attacker
  // without the secret would write. Decoded, it lands outside the slab.
  uint64_t plain = reinterpret_cast<uintptr_t>(first);
  std::memcpy(static_cast<char*>(victim) + c->offset, &plain, sizeof plain);
  k::kmem_cache_shrink(c);
  std::vector<void*> objs;
  std::set<void*> distinct;
  for (unsigned i = 0; i < c->objects; ++i) {
    void* o = k::kmem_cache_alloc(c, GFP_KERNEL);
    ASSERT_NE(o, nullptr);
    ASSERT_NE(o, first);  // never handed out twice
    objs.push_back(o);
    distinct.insert(o);
  }
  EXPECT_EQ(distinct.size(), objs.size());
  EXPECT_EQ(reports(), 1u);
  EXPECT_EQ(count(host::log_text(), "BUG h_plant: Freepointer corrupt"), 1u);
  EXPECT_GT(slab->slab.dropped, 0u);
  for (void* o : objs) k::kmem_cache_free(c, o);
  k::kmem_cache_free(c, first);
  EXPECT_TRUE(k::kmem_cache_destroy(c));  // the damaged slab was freed when it emptied
}

TEST_F(SlabHarden, naive_double_free_is_refused) {
  KmemCache* c = k::kmem_cache_create("h_dfree", 128, 0, 0, nullptr);
  ASSERT_NE(c, nullptr);
  void* x = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* y = k::kmem_cache_alloc(c, GFP_KERNEL);
  k::kmem_cache_free(c, x);
  k::kmem_cache_free(c, x);
  EXPECT_EQ(reports(), 1u);
  k::kmem_cache_shrink(c);  // x is now the head of its slab's freelist
  k::kmem_cache_free(c, x);
  k::kmem_cache_shrink(c);
  EXPECT_EQ(reports(), 2u);
  EXPECT_EQ(count(host::log_text(), "Object already free"), 2u);
  k::kmem_cache_free(c, y);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

TEST_F(SlabHarden, kfree_double_free_is_refused) {
  void* p = k::kmalloc(64, GFP_KERNEL);
  ASSERT_NE(p, nullptr);
  k::kfree(p);
  k::kfree(p);
  EXPECT_EQ(reports(), 1u);
}

class SlabHardenOff : public SlabFixture {
 protected:
  void SetUp() override { boot(slabtest::small_machine(2), "slab_harden=0"); }
};

TEST_F(SlabHardenOff, slab_harden_0_stores_plain_pointers) {
  EXPECT_FALSE(k::slab_hardened());
  KmemCache* c = k::kmem_cache_create("h_off", 64, 0, 0, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->random, 0u);
  void* a = k::kmem_cache_alloc(c, GFP_KERNEL);
  void* b = k::kmem_cache_alloc(c, GFP_KERNEL);
  k::set_freepointer(c, a, b);
  EXPECT_EQ(stored_word(c, a), reinterpret_cast<uintptr_t>(b));
  k::kmem_cache_free(c, a);
  k::kmem_cache_free(c, b);
  EXPECT_TRUE(k::kmem_cache_destroy(c));
}

}  // namespace
