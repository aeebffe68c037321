// Host tests of the page-table editing core (arch/riscv/mm/pgtable_core.h)
// over simulated physical memory, for Sv39 and Sv48: randomized map /
// unmap / protect against an interval model of va -> (pa, flags), leaf
// sizes, splitting, table-page accounting and failure rollback.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "arch/riscv/mm/pgtable_core.h"

namespace {

using arch::PageTableEditor;
using arch::PtStatus;
using k::PhysAddr;
namespace pte = arch::pte;

constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;
constexpr uint64_t kRW = pte::kKernelRW, kRO = pte::kKernelRO, kRX = pte::kKernelRX;

// Simulated physical memory for table pages: every page has a unique
// physical address; table_at() finds its host copy.
struct SimOps {
  struct alignas(4096) TablePage {
    uint64_t e[512];
  };
  std::unordered_map<uint64_t, std::unique_ptr<TablePage>> pages;
  uint64_t next_pa = 0x1000000000;  // well away from the data PAs tests map
  size_t limit = SIZE_MAX;          // fail allocations beyond this many live pages
  size_t allocated = 0, freed = 0;

  PhysAddr alloc_table() {
    if (pages.size() >= limit) return PhysAddr(0);
    auto p = std::make_unique<TablePage>();
    for (auto& x : p->e) x = 0;
    const uint64_t pa = next_pa;
    next_pa += k4K;
    pages.emplace(pa, std::move(p));
    ++allocated;
    return PhysAddr(pa);
  }
  void free_table(PhysAddr pa) {
    auto it = pages.find(pa.value());
    ASSERT_NE(it, pages.end()) << "free of a page that is not a table";
    for (auto x : it->second->e) ASSERT_EQ(x, 0u) << "freed table not empty";
    pages.erase(it);
    ++freed;
  }
  uint64_t* table_at(PhysAddr pa) {
    auto it = pages.find(pa.value());
    if (it == pages.end()) {
      ADD_FAILURE() << "table_at of unknown page " << std::hex << pa.value();
      std::abort();
    }
    return it->second->e;
  }
};

// va -> (pa, flags) as disjoint intervals keyed by start.
struct Model {
  struct Ext {
    uint64_t end;  // exclusive
    uint64_t pa;
    uint64_t flags;
  };
  std::map<uint64_t, Ext> m;

  void split_at(uint64_t x) {
    auto it = m.upper_bound(x);
    if (it == m.begin()) return;
    --it;
    if (it->first < x && x < it->second.end) {
      Ext right{it->second.end, it->second.pa + (x - it->first), it->second.flags};
      it->second.end = x;
      m.emplace(x, right);
    }
  }
  bool overlaps(uint64_t va, uint64_t end) const {
    auto it = m.lower_bound(va);
    if (it != m.end() && it->first < end) return true;
    if (it == m.begin()) return false;
    --it;
    return it->second.end > va;
  }
  void map(uint64_t va, uint64_t end, uint64_t pa, uint64_t flags) { m[va] = {end, pa, flags}; }
  void unmap(uint64_t va, uint64_t end) {
    split_at(va);
    split_at(end);
    m.erase(m.lower_bound(va), m.lower_bound(end));
  }
  void protect(uint64_t va, uint64_t end, uint64_t flags) {
    split_at(va);
    split_at(end);
    for (auto it = m.lower_bound(va); it != m.end() && it->first < end; ++it)
      it->second.flags = flags;
  }
  const Ext* find(uint64_t va, uint64_t* start) const {
    auto it = m.upper_bound(va);
    if (it == m.begin()) return nullptr;
    --it;
    if (va >= it->second.end) return nullptr;
    *start = it->first;
    return &it->second;
  }
  uint64_t bytes() const {
    uint64_t b = 0;
    for (auto& [s, e] : m) b += e.end - s;
    return b;
  }
};

struct Fixture {
  unsigned levels;
  unsigned keep;
  SimOps ops;
  PhysAddr root;
  std::unique_ptr<PageTableEditor<SimOps>> pt;

  Fixture(unsigned lv, unsigned kp) : levels(lv), keep(kp) {
    root = ops.alloc_table();
    pt = std::make_unique<PageTableEditor<SimOps>>(root, levels, ops, keep);
  }

  // Every leaf must match the model over its whole extent, and leaves must
  // cover exactly as many bytes as the model.
  void check(const Model& model, uint64_t lo, uint64_t size) {
    uint64_t leaf_bytes = 0;
    pt->for_each_leaf(lo, size, [&](uint64_t va, uint64_t e, unsigned level) {
      const uint64_t sz = pte::level_size(level);
      leaf_bytes += sz;
      for (uint64_t off = 0; off < sz;) {
        uint64_t start;
        const Model::Ext* x = model.find(va + off, &start);
        ASSERT_NE(x, nullptr) << std::hex << "leaf at " << va << " maps unmodelled " << va + off;
        EXPECT_EQ(x->pa + (va + off - start), pte::phys(e).value() + off) << std::hex << va + off;
        EXPECT_EQ(x->flags, arch::pt_detail::entry_flags(e)) << std::hex << va + off;
        off = x->end - va;
      }
    });
    EXPECT_EQ(leaf_bytes, model.bytes());
  }

  size_t live_tables() const { return ops.pages.size(); }
  // Tables that must survive an empty page table: the root, plus with
  // keep = 2 every table the root points at.
  size_t kept_tables() {
    size_t n = 1;
    if (keep >= 2) {
      uint64_t* r = ops.table_at(root);
      for (unsigned i = 0; i < 512; ++i)
        if (r[i]) ++n;
    }
    return n;
  }
};

class PgtableTest : public ::testing::TestWithParam<std::tuple<unsigned, unsigned>> {};

// Canonical kernel-half base for the mode (the top of the address space).
uint64_t window_base(unsigned levels) {
  return levels == 3 ? 0xffffffc000000000ull : 0xffff800000000000ull;
}

TEST_P(PgtableTest, LeavesAreAsLargeAsAlignmentAllows) {
  auto [levels, keep] = GetParam();
  Fixture f(levels, keep);
  const uint64_t va = window_base(levels) + 4 * k1G;
  const PhysAddr pa(0x80000000);  // 1 GiB aligned
  ASSERT_EQ(f.pt->map(va, pa, k1G + k2M + k4K, kRW, 2), PtStatus::kOk);
  unsigned count[3] = {};
  f.pt->for_each_leaf(va, k1G + k2M + k4K, [&](uint64_t, uint64_t, unsigned l) { ++count[l]; });
  EXPECT_EQ(count[2], 1u);
  EXPECT_EQ(count[1], 1u);
  EXPECT_EQ(count[0], 1u);
  // Misaligned pa: no 1 GiB leaf possible, 2 MiB leaves instead.
  const uint64_t va2 = va + 8 * k1G;
  ASSERT_EQ(f.pt->map(va2, PhysAddr(0x80200000), k1G, kRW, 2), PtStatus::kOk);
  unsigned c2[3] = {};
  f.pt->for_each_leaf(va2, k1G, [&](uint64_t, uint64_t, unsigned l) { ++c2[l]; });
  EXPECT_EQ(c2[2], 0u);
  EXPECT_EQ(c2[1], 512u);
  // max_leaf_level 0 forces 4 KiB leaves.
  const uint64_t va3 = va + 16 * k1G;
  ASSERT_EQ(f.pt->map(va3, PhysAddr(0x80000000), k2M, kRW, 0), PtStatus::kOk);
  unsigned c3[3] = {};
  f.pt->for_each_leaf(va3, k2M, [&](uint64_t, uint64_t, unsigned l) { ++c3[l]; });
  EXPECT_EQ(c3[0], 512u);
  EXPECT_EQ(c3[1], 0u);

  auto look = f.pt->lookup(va + k1G + 5);
  ASSERT_TRUE(look.has_value());
  EXPECT_EQ(look->level, 1u);
  EXPECT_EQ(look->pa.value(), 0x80000000 + k1G + 5);
  EXPECT_EQ(look->pte & 0xff, kRW & 0xff);
  EXPECT_FALSE(f.pt->lookup(va + k1G + k2M + k4K).has_value());

  ASSERT_EQ(f.pt->unmap(va, 32 * k1G), PtStatus::kOk);
  EXPECT_EQ(f.live_tables(), f.kept_tables());
}

TEST_P(PgtableTest, PartialUnmapAndProtectSplitLargeLeaves) {
  auto [levels, keep] = GetParam();
  Fixture f(levels, keep);
  Model model;
  const uint64_t va = window_base(levels) + 2 * k1G;
  ASSERT_EQ(f.pt->map(va, PhysAddr(0x40000000), k1G, kRW, 2), PtStatus::kOk);
  model.map(va, va + k1G, 0x40000000, kRW);
  // Unmap one 4 KiB page in the middle: 1 GiB -> 2 MiB leaves -> 4 KiB.
  ASSERT_EQ(f.pt->unmap(va + 3 * k2M + 7 * k4K, k4K), PtStatus::kOk);
  model.unmap(va + 3 * k2M + 7 * k4K, va + 3 * k2M + 8 * k4K);
  f.check(model, va, k1G);
  unsigned c[3] = {};
  f.pt->for_each_leaf(va, k1G, [&](uint64_t, uint64_t, unsigned l) { ++c[l]; });
  EXPECT_EQ(c[2], 0u);
  EXPECT_EQ(c[1], 511u);
  EXPECT_EQ(c[0], 511u);
  // Read-only over a range crossing a 2 MiB boundary.
  ASSERT_EQ(f.pt->protect(va + 10 * k2M - 3 * k4K, 6 * k4K, kRO), PtStatus::kOk);
  model.protect(va + 10 * k2M - 3 * k4K, va + 10 * k2M + 3 * k4K, kRO);
  f.check(model, va, k1G);
  // A whole 2 MiB leaf keeps its size when protected entirely.
  ASSERT_EQ(f.pt->protect(va + 20 * k2M, k2M, kRX), PtStatus::kOk);
  model.protect(va + 20 * k2M, va + 21 * k2M, kRX);
  auto l = f.pt->lookup(va + 20 * k2M + 100);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->level, 1u);
  f.check(model, va, k1G);
  ASSERT_EQ(f.pt->unmap(va, k1G), PtStatus::kOk);
  EXPECT_EQ(f.live_tables(), f.kept_tables());
}

TEST_P(PgtableTest, MapOverExistingFailsAndChangesNothing) {
  auto [levels, keep] = GetParam();
  Fixture f(levels, keep);
  Model model;
  const uint64_t va = window_base(levels) + k1G;
  ASSERT_EQ(f.pt->map(va + k2M, PhysAddr(0x90000000), k4K, kRW, 2), PtStatus::kOk);
  model.map(va + k2M, va + k2M + k4K, 0x90000000, kRW);
  const size_t tables = f.live_tables();
  // Overlaps the existing page in its second 2 MiB chunk.
  EXPECT_EQ(f.pt->map(va, PhysAddr(0xa0000000), 2 * k2M, kRW, 2), PtStatus::kAlreadyMapped);
  f.check(model, va, k1G);
  EXPECT_EQ(f.live_tables(), tables);
  EXPECT_EQ(f.pt->map(va + 3, PhysAddr(0), k4K, kRW, 0), PtStatus::kBadArgs);
  EXPECT_EQ(f.pt->map(va, PhysAddr(0), 0, kRW, 0), PtStatus::kBadArgs);
  EXPECT_EQ(f.pt->map(va, PhysAddr(0), k4K, 0, 0), PtStatus::kBadArgs);
  // Non-canonical address (inside the hole).
  EXPECT_EQ(f.pt->map(0x0000800000000000ull, PhysAddr(0), k4K, kRW, 0), PtStatus::kBadArgs);
  EXPECT_EQ(f.pt->unmap(0xffffffffffffe000ull, 0x4000), PtStatus::kBadArgs);  // wraps
  ASSERT_EQ(f.pt->unmap(va, k1G), PtStatus::kOk);
  EXPECT_EQ(f.live_tables(), f.kept_tables());
}

// vmalloc's lazy purge: unmapping keeps emptied tables until prune().
TEST_P(PgtableTest, UnmapKeepingTablesThenPruneFreesThem) {
  auto [levels, keep] = GetParam();
  Fixture f(levels, keep);
  Model model;
  const uint64_t va = window_base(levels) + 3 * k1G;
  ASSERT_EQ(f.pt->map(va, PhysAddr(0x80000000), 3 * k4K, kRW, 0), PtStatus::kOk);
  ASSERT_EQ(f.pt->map(va + k2M, PhysAddr(0x80400000), 2 * k2M, kRW, 1), PtStatus::kOk);
  model.map(va + k2M, va + 3 * k2M, 0x80400000, kRW);
  const size_t tables = f.live_tables();
  ASSERT_EQ(f.pt->unmap_keep_tables(va, 3 * k4K), PtStatus::kOk);
  f.check(model, va, k1G);
  EXPECT_EQ(f.live_tables(), tables) << "emptied tables stay linked";
  // Splitting a 2 MiB leaf still works (one 4 KiB page out of it).
  ASSERT_EQ(f.pt->unmap_keep_tables(va + 2 * k2M + k4K, k4K), PtStatus::kOk);
  model.unmap(va + 2 * k2M + k4K, va + 2 * k2M + 2 * k4K);
  f.check(model, va, k1G);
  EXPECT_EQ(f.live_tables(), tables + 1);
  // Pruning a range with live leaves frees only the empty table.
  f.pt->prune(va, k1G);
  EXPECT_EQ(f.live_tables(), tables);  // the split added one, the prune freed one
  f.check(model, va, k1G);
  ASSERT_EQ(f.pt->unmap_keep_tables(va, k1G), PtStatus::kOk);
  EXPECT_GT(f.live_tables(), f.kept_tables());
  f.pt->prune(va, k1G);
  EXPECT_EQ(f.live_tables(), f.kept_tables());
}

TEST_P(PgtableTest, OutOfTablePagesRollsBack) {
  auto [levels, keep] = GetParam();
  for (size_t budget = 1; budget < 8; ++budget) {
    Fixture f(levels, keep);
    Model model;
    const uint64_t va = window_base(levels) + 3 * k1G;
    ASSERT_EQ(f.pt->map(va, PhysAddr(0x80000000), 3 * k4K, kRW, 2), PtStatus::kOk);
    model.map(va, va + 3 * k4K, 0x80000000, kRW);
    const size_t before = f.live_tables();
    f.ops.limit = before + budget;
    // Needs tables under several 1 GiB and 2 MiB entries.
    const PtStatus st = f.pt->map(va + 4 * k4K, PhysAddr(0xc0000000), 3 * k1G, kRW, 0);
    if (st == PtStatus::kOk) continue;  // budget was enough (cannot be: needs > 8)
    EXPECT_EQ(st, PtStatus::kNoMemory);
    f.check(model, va, 4 * k1G);
    EXPECT_EQ(f.live_tables(), before) << "budget " << budget;
    f.ops.limit = SIZE_MAX;
    ASSERT_EQ(f.pt->unmap(va, 4 * k1G), PtStatus::kOk);
    EXPECT_EQ(f.live_tables(), f.kept_tables());
  }
}

TEST_P(PgtableTest, RandomOpsMatchModelAndFreeAllTables) {
  auto [levels, keep] = GetParam();
  Fixture f(levels, keep);
  Model model;
  std::mt19937_64 rng(levels * 100 + keep);
  // 8 GiB window: room for 1 GiB leaves and several root/second entries.
  const uint64_t base = window_base(levels) + (levels == 4 ? 511ull << 39 : 0) - 0;
  const uint64_t lo = levels == 4 ? base - 4 * k1G : base + 8 * k1G;
  const uint64_t window = 8 * k1G;
  const uint64_t flag_choices[] = {kRW, kRO, kRX, kRW | pte::kPbmtIO};
  const uint64_t grains[] = {k4K, k2M, k1G};
  size_t peak_tables = 0;
  for (int step = 0; step < 3000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    const uint64_t g = grains[rng() % 3 == 0 ? (rng() % 3) : 0];
    const uint64_t units = 1 + rng() % (g == k1G ? 2 : g == k2M ? 6 : 80);
    uint64_t size = units * g;
    if (size > window) size = window;
    uint64_t va = lo + (rng() % ((window - size) / g + 1)) * g;
    if (op < 5) {
      // Map with a pa of the same alignment class as va (sometimes less).
      uint64_t pa = (rng() % 64) * k1G + (va & (k1G - 1));
      if (rng() % 4 == 0) pa += k4K * (1 + rng() % 3);
      const unsigned max_leaf = static_cast<unsigned>(rng() % 3);
      const bool overlap = model.overlaps(va, va + size);
      const PtStatus st = f.pt->map(va, PhysAddr(pa), size, flag_choices[rng() % 4], max_leaf);
      if (overlap) {
        ASSERT_EQ(st, PtStatus::kAlreadyMapped);
      } else {
        ASSERT_EQ(st, PtStatus::kOk);
        // Recover the flags the map used from the table itself.
        auto l = f.pt->lookup(va);
        ASSERT_TRUE(l.has_value());
        model.map(va, va + size, pa, arch::pt_detail::entry_flags(l->pte));
      }
    } else if (op < 8) {
      // Unmap an arbitrary 4 KiB-aligned range.
      const uint64_t a = lo + (rng() % (window / k4K)) * k4K;
      const uint64_t len = std::min<uint64_t>((1 + rng() % 2048) * k4K, lo + window - a);
      ASSERT_EQ(f.pt->unmap(a, len), PtStatus::kOk);
      model.unmap(a, a + len);
    } else {
      const uint64_t a = lo + (rng() % (window / k4K)) * k4K;
      const uint64_t len = std::min<uint64_t>((1 + rng() % 1024) * k4K, lo + window - a);
      const uint64_t fl = flag_choices[rng() % 4];
      ASSERT_EQ(f.pt->protect(a, len, fl), PtStatus::kOk);
      model.protect(a, a + len, fl);
    }
    peak_tables = std::max(peak_tables, f.live_tables());
    if (step % 50 == 0 || step > 2990) {
      f.check(model, lo, window);
      for (int i = 0; i < 20; ++i) {
        const uint64_t a = lo + (rng() % (window / k4K)) * k4K + rng() % k4K;
        uint64_t start;
        const Model::Ext* x = model.find(a, &start);
        auto l = f.pt->lookup(a);
        ASSERT_EQ(l.has_value(), x != nullptr) << std::hex << a;
        if (x) {
          EXPECT_EQ(l->pa.value(), x->pa + (a - start));
        }
      }
    }
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(peak_tables, 4u);
  ASSERT_EQ(f.pt->unmap(lo, window), PtStatus::kOk);
  EXPECT_EQ(f.live_tables(), f.kept_tables());
  EXPECT_EQ(f.ops.allocated - f.ops.freed, f.live_tables());
}

INSTANTIATE_TEST_SUITE_P(Modes, PgtableTest,
                         ::testing::Combine(::testing::Values(3u, 4u), ::testing::Values(1u, 2u)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == 3 ? "Sv39" : "Sv48") +
                                  "_keep" + std::to_string(std::get<1>(info.param));
                         });

}  // namespace
