// The VMA tree (mm/vma.cpp) and the red-black tree under it (lib/rbtree.h)
// against page-granular models: random mmap/munmap/mprotect sequences with
// every invariant checked after every step.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "lib/rbtree.h"
#include "mm/vma.h"

namespace {

using k::Errno;
using k::kPageSize;
using k::Vma;
using k::VmaProto;
using k::VmaTree;

int g_live_vmas = 0;
bool g_fail_alloc = false;

k::Vma* test_alloc() {
  if (g_fail_alloc) return nullptr;
  ++g_live_vmas;
  return new Vma();
}
void test_free(k::Vma* v) {
  --g_live_vmas;
  delete v;
}
const k::VmaAllocator kAlloc{test_alloc, test_free};

// --- red-black tree ---

struct Item {
  k::RbNode rb;
  int key;
};

TEST(RbTree, RandomInsertEraseKeepsOrderAndBalance) {
  std::mt19937 rng(1);
  k::RbRoot root;
  std::map<int, Item*> model;
  for (int step = 0; step < 20000; ++step) {
    const int key = static_cast<int>(rng() % 2000);
    auto it = model.find(key);
    if (it == model.end()) {
      Item* item = new Item{{}, key};
      k::RbNode** link = &root.node;
      k::RbNode* parent = nullptr;
      while (*link) {
        parent = *link;
        link = key < reinterpret_cast<Item*>(parent)->key ? &parent->left : &parent->right;
      }
      k::rb_link_node(&item->rb, parent, link);
      k::rb_insert_color(&item->rb, &root);
      model[key] = item;
    } else {
      k::rb_erase(&it->second->rb, &root);
      delete it->second;
      model.erase(it);
    }
    if (step % 97 == 0 || model.size() < 8) {
      ASSERT_GE(k::rb_check(root.node), 0) << "step " << step;
      ASSERT_TRUE(!root.node || !root.node->red);
      auto m = model.begin();
      for (k::RbNode* n = k::rb_first(&root); n; n = k::rb_next(n), ++m) {
        ASSERT_NE(m, model.end());
        ASSERT_EQ(reinterpret_cast<Item*>(n)->key, m->first);
      }
      ASSERT_EQ(m, model.end());
    }
  }
  // Height bound 2*log2(n+1): the black height check above implies it;
  // walk backwards once to test rb_prev.
  auto m = model.rbegin();
  for (k::RbNode* n = k::rb_last(&root); n; n = k::rb_prev(n), ++m)
    ASSERT_EQ(reinterpret_cast<Item*>(n)->key, m->first);
  for (auto& [key, item] : model) delete item;
}

// --- VMA tree model ---

struct PageInfo {
  k::vm_flags_t flags;
  const void* file;
  uint64_t file_page;
  bool operator==(const PageInfo&) const = default;
};

class VmaModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_live_vmas = 0;
    g_fail_alloc = false;
  }
  void TearDown() override { EXPECT_EQ(g_live_vmas, 0) << "VMAs leaked"; }

  // Compares the tree with the model and checks the tree's invariants.
  void verify(const VmaTree& t, const std::map<uint64_t, PageInfo>& model, int step) {
    const char* why = t.check();
    ASSERT_EQ(why, nullptr) << why << " at step " << step;
    std::map<uint64_t, PageInfo> seen;
    for (const Vma* v = t.first(); v; v = VmaTree::next(v))
      for (uint64_t a = v->start; a < v->end; a += kPageSize)
        seen[a / kPageSize] = {v->flags, v->file.identity,
                               v->anonymous() ? 0 : v->pgoff + (a - v->start) / kPageSize};
    ASSERT_EQ(seen, model) << "step " << step;
    ASSERT_EQ(t.total_pages(), model.size());
    ASSERT_EQ(static_cast<size_t>(g_live_vmas), t.map_count());
  }
};

const uint8_t kFileA[1] = {0};
const uint8_t kFileB[1] = {0};

TEST_F(VmaModelTest, RandomMapUnmapProtectMatchesModel) {
  std::mt19937 rng(7);
  VmaTree t(kAlloc);
  std::map<uint64_t, PageInfo> model;
  constexpr uint64_t kSpace = 256;  // pages
  for (int step = 0; step < 30000; ++step) {
    uint64_t a = rng() % kSpace, b = rng() % kSpace;
    if (a > b) std::swap(a, b);
    ++b;
    const uint64_t start = a * kPageSize, end = b * kPageSize;
    const int op = static_cast<int>(rng() % 3);
    if (op == 0) {
      VmaProto p;
      p.flags = static_cast<k::vm_flags_t>(rng() % 3 == 0 ? k::VM_READ : k::VM_READ | k::VM_WRITE);
      const int kind = static_cast<int>(rng() % 3);
      if (kind) {
        p.file = {kind == 1 ? kFileA : kFileB, kind == 1 ? kFileA : kFileB, 1 << 20};
        // Sometimes continue the neighbour's file offsets so merges happen.
        p.pgoff = (rng() % 2) ? a : rng() % 64;
      }
      bool free = true;
      for (uint64_t pg = a; pg < b; ++pg) free = free && !model.count(pg);
      auto r = t.map(start, end, p);
      if (!free) {
        ASSERT_EQ(r.error(), Errno::kEEXIST);
      } else {
        ASSERT_TRUE(r.ok()) << "step " << step;
        for (uint64_t pg = a; pg < b; ++pg)
          model[pg] = {p.flags, p.file.identity, kind ? p.pgoff + (pg - a) : 0};
      }
    } else if (op == 1) {
      uint64_t removed = 0;
      ASSERT_TRUE(t.unmap(start, end, [&](uint64_t s, uint64_t e, const Vma& v) {
                     EXPECT_LE(start, s);
                     EXPECT_GE(end, e);
                     EXPECT_TRUE(v.start == s && v.end == e);
                     removed += (e - s) / kPageSize;
                   }).ok());
      uint64_t expect = 0;
      for (uint64_t pg = a; pg < b; ++pg) expect += model.erase(pg);
      ASSERT_EQ(removed, expect);
    } else {
      const k::vm_flags_t nf = (rng() % 2) ? k::VM_READ : k::VM_READ | k::VM_WRITE;
      bool full = true;
      for (uint64_t pg = a; pg < b; ++pg) full = full && model.count(pg);
      auto r = t.protect(start, end, nf, [](uint64_t, uint64_t, const Vma&, k::vm_flags_t) {});
      if (!full) {
        ASSERT_EQ(r.error(), Errno::kENOMEM);
      } else {
        ASSERT_TRUE(r.ok());
        for (uint64_t pg = a; pg < b; ++pg) model[pg].flags = nf;
      }
    }
    verify(t, model, step);
    if (HasFatalFailure()) return;
  }
}

TEST_F(VmaModelTest, FindVmaReturnsFirstVmaEndingAbove) {
  VmaTree t(kAlloc);
  VmaProto ro{k::VM_READ, {}, 0}, rw{k::VM_READ | k::VM_WRITE, {}, 0};
  ASSERT_TRUE(t.map(0x10000, 0x12000, ro).ok());
  ASSERT_TRUE(t.map(0x20000, 0x21000, rw).ok());
  EXPECT_EQ(t.find_vma(0x0)->start, 0x10000u);
  EXPECT_EQ(t.find_vma(0x11fff)->start, 0x10000u);
  EXPECT_EQ(t.find_vma(0x12000)->start, 0x20000u);
  EXPECT_EQ(t.find_vma(0x21000), nullptr);
  EXPECT_EQ(t.find_vma_containing(0x15000), nullptr);
  EXPECT_EQ(t.find_vma_intersection(0x12000, 0x20000), nullptr);
  EXPECT_NE(t.find_vma_intersection(0x12000, 0x20001), nullptr);
}

TEST_F(VmaModelTest, ProtectRwRoRwEndsAsOneVma) {
  VmaTree t(kAlloc);
  VmaProto rw{k::VM_READ | k::VM_WRITE, {}, 0};
  ASSERT_TRUE(t.map(0x100000, 0x110000, rw).ok());
  auto nop = [](uint64_t, uint64_t, const Vma&, k::vm_flags_t) {};
  ASSERT_TRUE(t.protect(0x104000, 0x108000, k::VM_READ, nop).ok());
  EXPECT_EQ(t.map_count(), 3u);
  ASSERT_TRUE(t.protect(0x104000, 0x108000, k::VM_READ | k::VM_WRITE, nop).ok());
  EXPECT_EQ(t.map_count(), 1u);
  EXPECT_EQ(t.first()->start, 0x100000u);
  EXPECT_EQ(t.first()->end, 0x110000u);
}

TEST_F(VmaModelTest, MunmapMiddleSplitsAndLimitIsEnforced) {
  VmaTree t(kAlloc, 3);
  VmaProto rw{k::VM_READ | k::VM_WRITE, {}, 0};
  auto nop = [](uint64_t, uint64_t, const Vma&) {};
  ASSERT_TRUE(t.map(0x100000, 0x200000, rw).ok());
  ASSERT_TRUE(t.unmap(0x140000, 0x150000, nop).ok());
  EXPECT_EQ(t.map_count(), 2u);
  ASSERT_TRUE(t.unmap(0x160000, 0x170000, nop).ok());
  EXPECT_EQ(t.map_count(), 3u);
  // A fourth VMA is over the limit: both a hole and a new mapping fail,
  // and a failed call changes nothing.
  EXPECT_EQ(t.unmap(0x180000, 0x190000, nop).error(), Errno::kENOMEM);
  EXPECT_EQ(t.map(0x300000, 0x301000, VmaProto{k::VM_READ, {}, 0}).error(), Errno::kENOMEM);
  EXPECT_EQ(t.protect(0x180000, 0x190000, k::VM_READ,
                      [](uint64_t, uint64_t, const Vma&, k::vm_flags_t) {})
                .error(),
            Errno::kENOMEM);
  EXPECT_EQ(t.map_count(), 3u);
  EXPECT_EQ(t.check(), nullptr);
  // Merging with a neighbour needs no new VMA and still works.
  EXPECT_TRUE(t.map(0x200000, 0x201000, rw).ok());
  // Out of memory while splitting: nothing changes.
  VmaTree u(kAlloc);
  ASSERT_TRUE(u.map(0x100000, 0x200000, rw).ok());
  g_fail_alloc = true;
  EXPECT_EQ(u.unmap(0x140000, 0x150000, nop).error(), Errno::kENOMEM);
  g_fail_alloc = false;
  EXPECT_EQ(u.map_count(), 1u);
  EXPECT_EQ(u.total_pages(), 0x100u);
}

TEST_F(VmaModelTest, GetUnmappedAreaIsTopDownAndKeepsStackGuard) {
  VmaTree t(kAlloc);
  const uint64_t high = 0x1000000, low = 0x10000, guard = 256 * kPageSize;
  VmaProto stack{k::VM_READ | k::VM_WRITE | k::VM_GROWSDOWN, {}, 0};
  ASSERT_TRUE(t.map(high - 0x20000, high, stack).ok());
  auto a = t.get_unmapped_area(0x3000, low, high, guard);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, high - 0x20000 - guard - 0x3000);
  ASSERT_TRUE(t.map(*a, *a + 0x3000, VmaProto{k::VM_READ, {}, 0}).ok());
  auto b = t.get_unmapped_area(0x1000, low, high, guard);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, *a - 0x1000);
  EXPECT_EQ(t.get_unmapped_area(high, low, high, guard).error(), Errno::kENOMEM);
}

TEST_F(VmaModelTest, RandomGetUnmappedAreaFindsTheHighestFit) {
  std::mt19937 rng(3);
  VmaTree t(kAlloc);
  std::set<uint64_t> used;
  constexpr uint64_t kSpace = 512;
  for (int step = 0; step < 3000; ++step) {
    const uint64_t len = 1 + rng() % 8;
    auto r = t.get_unmapped_area(len * kPageSize, kPageSize, kSpace * kPageSize, 0);
    // The model: highest start s with [s, s+len) free inside [1, kSpace).
    uint64_t expect = 0;
    for (uint64_t s = kSpace - len; s >= 1; --s) {
      bool free = true;
      for (uint64_t p = s; p < s + len && free; ++p) free = !used.count(p);
      if (free) {
        expect = s;
        break;
      }
    }
    if (!expect) {
      ASSERT_EQ(r.error(), Errno::kENOMEM);
    } else {
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, expect * kPageSize);
      ASSERT_TRUE(t.map(*r, *r + len * kPageSize, VmaProto{k::VM_READ, {}, 0}).ok());
      for (uint64_t p = expect; p < expect + len; ++p) used.insert(p);
    }
    if (rng() % 2 && !used.empty()) {
      const uint64_t p = 1 + rng() % (kSpace - 1);
      ASSERT_TRUE(
          t.unmap(p * kPageSize, (p + 1) * kPageSize, [](uint64_t, uint64_t, const Vma&) {}).ok());
      used.erase(p);
    }
    ASSERT_EQ(t.check(), nullptr);
  }
}

}  // namespace
