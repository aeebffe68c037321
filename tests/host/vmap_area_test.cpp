// Host tests of the vmalloc free-area allocator (mm/vmap_area): random
// sizes and alignments against a model, fragmentation, merging of freed
// neighbours, thousands of live areas, node accounting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "lib/types.h"
#include "mm/vmap_area.h"

namespace {

using k::VmapAllocator;
using k::VmapArea;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBase = 0xffffffc600000000ull;

struct Nodes {
  std::set<VmapArea*> live;
  size_t limit = SIZE_MAX;
  static VmapArea* alloc(void* ctx) {
    auto* n = static_cast<Nodes*>(ctx);
    if (n->live.size() >= n->limit) return nullptr;
    auto* a = new VmapArea;
    n->live.insert(a);
    return a;
  }
  static void free(void* ctx, VmapArea* a) {
    auto* n = static_cast<Nodes*>(ctx);
    ASSERT_EQ(n->live.erase(a), 1u) << "free of a node not handed out";
    delete a;
  }
  k::VmapNodeSource source() { return {&Nodes::alloc, &Nodes::free, this}; }
  ~Nodes() {
    for (auto* a : live) delete a;
  }
};

struct Harness {
  Nodes nodes;
  VmapAllocator va;
  Harness(uint64_t size) { EXPECT_TRUE(va.init(kBase, kBase + size, nodes.source())); }
  // Every node is in one of the trees.
  void check() {
    ASSERT_TRUE(va.check_invariants());
    ASSERT_EQ(nodes.live.size(), va.nr_busy() + va.nr_free());
  }
};

TEST(VmapArea, FirstFitIsLowestAddressAndAligned) {
  Harness h(1ull << 30);
  VmapArea* a = h.va.alloc(3 * kPage, kPage);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->va_start, kBase);
  EXPECT_EQ(a->va_end, kBase + 3 * kPage);
  VmapArea* b = h.va.alloc(kPage, 1 << 21);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->va_start, kBase + (1 << 21));
  VmapArea* c = h.va.alloc(kPage, kPage);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->va_start, kBase + 3 * kPage);  // the gap before b
  h.check();
  EXPECT_EQ(h.va.find_busy(b->va_start), b);
  EXPECT_EQ(h.va.find_busy(b->va_start + kPage), nullptr);
  EXPECT_EQ(h.va.find_busy_containing(a->va_start + 2 * kPage + 5), a);
  EXPECT_EQ(h.va.find_busy_containing(a->va_end + 2 * kPage), nullptr);
  h.va.free(a);
  h.va.free(b);
  h.va.free(c);
  h.check();
  EXPECT_EQ(h.va.nr_free(), 1u);
  EXPECT_EQ(h.va.largest_free(), 1ull << 30);
}

TEST(VmapArea, RejectsBadRequestsAndExhaustion) {
  Harness h(16 * kPage);
  EXPECT_EQ(h.va.alloc(0, kPage), nullptr);
  EXPECT_EQ(h.va.alloc(kPage + 1, kPage), nullptr);
  EXPECT_EQ(h.va.alloc(kPage, 3 * kPage), nullptr);
  EXPECT_EQ(h.va.alloc(kPage, 512), nullptr);
  EXPECT_EQ(h.va.alloc(17 * kPage, kPage), nullptr);
  EXPECT_EQ(h.va.alloc(~uint64_t{0} & ~(kPage - 1), kPage), nullptr);
  VmapArea* all = h.va.alloc(16 * kPage, kPage);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(h.va.alloc(kPage, kPage), nullptr);
  h.check();
  h.va.free(all);
  h.check();
}

TEST(VmapArea, FreedNeighboursMergeInEveryOrder) {
  // Three adjacent areas freed in all 6 orders must end as one free area.
  std::vector<int> order = {0, 1, 2};
  do {
    Harness h(3 * kPage);
    VmapArea* a[3];
    for (auto& x : a) x = h.va.alloc(kPage, kPage);
    for (auto* x : a) ASSERT_NE(x, nullptr);
    for (int i : order) {
      h.va.free(a[i]);
      h.check();
    }
    EXPECT_EQ(h.va.nr_free(), 1u);
    EXPECT_EQ(h.va.largest_free(), 3 * kPage);
    EXPECT_EQ(h.nodes.live.size(), 1u);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(VmapArea, NodeSourceFailureLeavesStateUnchanged) {
  Harness h(64 * kPage);
  VmapArea* a = h.va.alloc(kPage, kPage);
  ASSERT_NE(a, nullptr);
  h.nodes.limit = h.nodes.live.size();
  // A request from the middle of the free area needs two new nodes.
  EXPECT_EQ(h.va.alloc(kPage, 16 * kPage), nullptr);
  h.nodes.limit = h.nodes.live.size() + 1;
  EXPECT_EQ(h.va.alloc(kPage, 16 * kPage), nullptr);
  h.check();
  EXPECT_EQ(h.va.nr_busy(), 1u);
  h.nodes.limit = SIZE_MAX;
  h.va.free(a);
  h.check();
}

TEST(VmapArea, FragmentationFindsTheHoleThatFits) {
  Harness h(1024 * kPage);
  std::vector<VmapArea*> v;
  for (int i = 0; i < 256; ++i) v.push_back(h.va.alloc(4 * kPage, kPage));
  for (auto* x : v) ASSERT_NE(x, nullptr);
  // Free every other area: 128 holes of 4 pages, plus the 0-page tail.
  for (size_t i = 0; i < v.size(); i += 2) h.va.free(v[i]);
  h.check();
  EXPECT_EQ(h.va.largest_free(), 4 * kPage);
  EXPECT_EQ(h.va.alloc(5 * kPage, kPage), nullptr);
  // Free two neighbours of a hole: 12 pages in one place.
  h.va.free(v[101]);
  h.va.free(v[103]);
  h.check();
  EXPECT_EQ(h.va.largest_free(), 4 * 5 * kPage);
  VmapArea* big = h.va.alloc(20 * kPage, kPage);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->va_start, v[100]->va_start);
  h.check();
}

TEST(VmapArea, RandomSizesAndAlignmentsMatchModel) {
  Harness h(1ull << 32);
  std::mt19937_64 rng(42);
  std::map<uint64_t, uint64_t> model;  // start -> end of busy areas
  std::vector<VmapArea*> live;
  for (int step = 0; step < 40000; ++step) {
    if (live.empty() || rng() % 100 < 60) {
      const uint64_t pages = rng() % 8 == 0 ? 1 + rng() % 4096 : 1 + rng() % 16;
      const uint64_t align = kPage << (rng() % 4 == 0 ? rng() % 10 : 0);
      VmapArea* a = h.va.alloc(pages * kPage, align);
      // Must fail only if no aligned hole of that size exists.
      bool any_hole = false;
      uint64_t cur = kBase;
      for (auto& [s, e] : model) {
        if (k::align_up(cur, align) + pages * kPage <= s) any_hole = true;
        cur = e;
      }
      if (k::align_up(cur, align) + pages * kPage <= kBase + (1ull << 32)) any_hole = true;
      if (!a) {
        ASSERT_FALSE(any_hole) << "alloc failed although a hole fits";
        continue;
      }
      ASSERT_EQ(a->va_start % align, 0u);
      ASSERT_EQ(a->area_size(), pages * kPage);
      auto it = model.lower_bound(a->va_start);
      if (it != model.end()) {
        ASSERT_LE(a->va_end, it->first);
      }
      if (it != model.begin()) {
        ASSERT_GE(a->va_start, std::prev(it)->second);
      }
      model[a->va_start] = a->va_end;
      live.push_back(a);
    } else {
      const size_t i = rng() % live.size();
      ASSERT_EQ(h.va.find_busy(live[i]->va_start), live[i]);
      model.erase(live[i]->va_start);
      h.va.free(live[i]);
      live[i] = live.back();
      live.pop_back();
    }
    if (step % 1000 == 0) h.check();
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(live.size(), 1000u);  // thousands of live areas
  h.check();
  for (auto* a : live) h.va.free(a);
  h.check();
  EXPECT_EQ(h.va.nr_busy(), 0u);
  EXPECT_EQ(h.va.nr_free(), 1u);
  EXPECT_EQ(h.nodes.live.size(), 1u);
}

TEST(VmapArea, TwentyThousandLiveAreasFreeAndMergeBack) {
  Harness h(1ull << 36);
  std::vector<VmapArea*> v;
  for (int i = 0; i < 20000; ++i) v.push_back(h.va.alloc(kPage, kPage));
  for (auto* x : v) ASSERT_NE(x, nullptr);
  h.check();
  unsigned long visits = 0;
  h.va.for_each_busy([](const VmapArea&, void* c) { ++*static_cast<unsigned long*>(c); }, &visits);
  EXPECT_EQ(visits, 20000u);
  for (size_t i = 0; i < v.size(); i += 2) h.va.free(v[i]);
  h.check();
  EXPECT_EQ(h.va.nr_free(), 10001u);
  for (size_t i = 1; i < v.size(); i += 2) h.va.free(v[i]);
  h.check();
  EXPECT_EQ(h.va.nr_free(), 1u);
}

}  // namespace
