// memblock: region arrays, merging, reservations, allocation limits, array
// growth, mem=, NOMAP, and the BootMemInfo -> memblock step.
#include <set>

#include "mm_test_arena.h"

namespace {

using k::memblock;
using k::PhysAddr;
using k::PhysRange;
using mmtest::GiB;
using mmtest::MiB;

constexpr uint64_t kBase = 0x80000000;

class MemblockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    k::memblock.reset();
    host::log_clear();
  }
  void TearDown() override { k::memblock.reset(); }

  static std::vector<std::pair<uint64_t, uint64_t>> regions(const k::MemblockType& t) {
    std::vector<std::pair<uint64_t, uint64_t>> v;
    for (size_t i = 0; i < t.cnt; ++i)
      v.emplace_back(t.regions[i].base.value(), t.regions[i].end().value());
    return v;
  }
  static void expect_sorted_disjoint(const k::MemblockType& t) {
    uint64_t total = 0;
    for (size_t i = 0; i < t.cnt; ++i) {
      EXPECT_GT(t.regions[i].size, 0u);
      total += t.regions[i].size;
      if (i) {
        EXPECT_LE(t.regions[i - 1].end(), t.regions[i].base);
      }
    }
    EXPECT_EQ(total, t.total_size);
  }
};

TEST_F(MemblockTest, adjacent_and_overlapping_ranges_merge) {
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 16 * MiB).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 16 * MiB), 16 * MiB).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 8 * MiB), 40 * MiB).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 64 * MiB), 8 * MiB).ok());
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(regions(memblock.memory()),
            (V{{kBase, kBase + 48 * MiB}, {kBase + 64 * MiB, kBase + 72 * MiB}}));
  EXPECT_EQ(memblock.phys_mem_size(), 56 * MiB);
  // Filling the hole joins everything.
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 40 * MiB), 30 * MiB).ok());
  EXPECT_EQ(regions(memblock.memory()), (V{{kBase, kBase + 72 * MiB}}));
  expect_sorted_disjoint(memblock.memory());
}

TEST_F(MemblockTest, regions_of_different_nodes_do_not_merge) {
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 16 * MiB, 0).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 16 * MiB), 16 * MiB, 1).ok());
  ASSERT_EQ(memblock.memory().cnt, 2u);
  EXPECT_EQ(memblock.memory().regions[1].nid, 1);
  ASSERT_TRUE(memblock.set_node(PhysAddr(kBase + 16 * MiB), 16 * MiB, 0).ok());
  EXPECT_EQ(memblock.memory().cnt, 1u);
}

TEST_F(MemblockTest, overlapping_reservations_merge_and_free_splits) {
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 64 * MiB).ok());
  ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + 4 * MiB), 4 * MiB).ok());
  ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + 6 * MiB), 4 * MiB).ok());
  ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + 2 * MiB), 3 * MiB).ok());
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(regions(memblock.reserved()), (V{{kBase + 2 * MiB, kBase + 10 * MiB}}));
  EXPECT_EQ(memblock.reserved_size(), 8 * MiB);
  ASSERT_TRUE(memblock.free(PhysAddr(kBase + 5 * MiB), 1 * MiB).ok());
  EXPECT_EQ(regions(memblock.reserved()),
            (V{{kBase + 2 * MiB, kBase + 5 * MiB}, {kBase + 6 * MiB, kBase + 10 * MiB}}));
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 2 * MiB)));
  EXPECT_FALSE(memblock.is_reserved(PhysAddr(kBase + 5 * MiB)));
  expect_sorted_disjoint(memblock.reserved());
  // Free ranges are memory minus reservations.
  V free;
  memblock.for_each_free_range(
      [&](PhysAddr s, PhysAddr e, int) { free.emplace_back(s.value(), e.value()); });
  EXPECT_EQ(free, (V{{kBase, kBase + 2 * MiB},
                     {kBase + 5 * MiB, kBase + 6 * MiB},
                     {kBase + 10 * MiB, kBase + 64 * MiB}}));
}

TEST_F(MemblockTest, remove_cuts_memory_and_its_reservations) {
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 64 * MiB).ok());
  ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + 30 * MiB), 4 * MiB).ok());
  ASSERT_TRUE(memblock.remove(PhysAddr(kBase + 32 * MiB), 8 * MiB).ok());
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(regions(memblock.memory()),
            (V{{kBase, kBase + 32 * MiB}, {kBase + 40 * MiB, kBase + 64 * MiB}}));
  EXPECT_EQ(regions(memblock.reserved()), (V{{kBase + 30 * MiB, kBase + 32 * MiB}}));
}

TEST_F(MemblockTest, alloc_is_top_down_aligned_and_respects_limits) {
  mmtest::Arena arena(kBase, kBase + 256 * MiB);
  ASSERT_TRUE(arena.ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 128 * MiB).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 192 * MiB), 64 * MiB).ok());
  ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + 255 * MiB), 1 * MiB).ok());

  auto a = memblock.phys_alloc(4096, 4096);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value(), kBase + 255 * MiB - 4096);
  auto b = memblock.phys_alloc(3 * MiB, 2 * MiB);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->value() % (2 * MiB), 0u);
  EXPECT_LT(b->value() + 3 * MiB, kBase + 255 * MiB);
  // max_addr keeps it below a limit (in the lower bank).
  auto c = memblock.phys_alloc(1 * MiB, 4096, PhysAddr(0), PhysAddr(kBase + 100 * MiB));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->value(), kBase + 99 * MiB);
  // min_addr/max_addr that only a hole satisfies: ENOMEM.
  auto d =
      memblock.phys_alloc(1 * MiB, 4096, PhysAddr(kBase + 128 * MiB), PhysAddr(kBase + 192 * MiB));
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.error(), k::Errno::kENOMEM);
  // current_limit caps everything.
  memblock.set_current_limit(PhysAddr(kBase + 16 * MiB));
  auto e = memblock.phys_alloc(64 * 1024, 64 * 1024);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->value(), kBase + 16 * MiB - 64 * 1024);
  // Too big.
  EXPECT_FALSE(memblock.phys_alloc(32 * MiB, 4096).ok());
  // Bad alignment.
  EXPECT_EQ(memblock.phys_alloc(4096, 3).error(), k::Errno::kEINVAL);
  // Every allocation is reserved and they are disjoint.
  for (auto p : {*a, *b, *c, *e}) EXPECT_TRUE(memblock.is_reserved(p));
  // alloc() zeroes and maps.
  memblock.set_current_limit(PhysAddr(k::kPhysAddrMax));
  auto* v = static_cast<uint8_t*>(memblock.alloc(8192, 4096));
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(arena.contains(v, 8192));
  for (int i = 0; i < 8192; ++i) ASSERT_EQ(v[i], 0);
}

TEST_F(MemblockTest, alloc_prefers_requested_node_and_exact_node_fails) {
  mmtest::Arena arena(kBase, kBase + 64 * MiB);
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 32 * MiB, 0).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 32 * MiB), 32 * MiB, 1).ok());
  auto a = memblock.phys_alloc(1 * MiB, 4096, PhysAddr(0), PhysAddr(k::kPhysAddrMax), 0);
  ASSERT_TRUE(a.ok());
  EXPECT_LT(a->value(), kBase + 32 * MiB);
  EXPECT_FALSE(
      memblock.phys_alloc(1 * MiB, 4096, PhysAddr(0), PhysAddr(k::kPhysAddrMax), 2, true).ok());
  auto b = memblock.phys_alloc(1 * MiB, 4096, PhysAddr(0), PhysAddr(k::kPhysAddrMax), 2, false);
  EXPECT_TRUE(b.ok());
}

TEST_F(MemblockTest, full_array_without_resize_fails_cleanly) {
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 1 * GiB).ok());
  for (size_t i = 0; i < k::kInitMemblockRegions; ++i)
    ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + i * 2 * 4096), 4096).ok());
  const size_t before = memblock.reserved().cnt;
  auto r = memblock.reserve(PhysAddr(kBase + 512 * MiB), 4096);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), k::Errno::kENOMEM);
  EXPECT_EQ(memblock.reserved().cnt, before);
  EXPECT_NE(host::log_text().find("cannot grow"), std::string::npos);
}

TEST_F(MemblockTest, arrays_grow_beyond_initial_size) {
  mmtest::Arena arena(kBase, kBase + 256 * MiB);
  memblock.allow_resize();
  // 300 separate memory banks and 700 separate reservations.
  for (uint64_t i = 0; i < 300; ++i)
    ASSERT_TRUE(memblock.add(PhysAddr(kBase + i * 512 * 1024), 256 * 1024).ok());
  EXPECT_EQ(memblock.memory().cnt, 300u);
  EXPECT_GE(memblock.memory().max, 300u);
  for (uint64_t i = 0; i < 700; ++i)
    ASSERT_TRUE(
        memblock.reserve(PhysAddr(kBase + (i % 300) * 512 * 1024 + (i / 300) * 16384), 4096).ok());
  EXPECT_GE(memblock.reserved().max, 512u);
  expect_sorted_disjoint(memblock.memory());
  expect_sorted_disjoint(memblock.reserved());
  // Every reservation made is still there.
  for (uint64_t i = 0; i < 700; ++i)
    EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + (i % 300) * 512 * 1024 + (i / 300) * 16384)));
  // The grown arrays live in memblock memory and are themselves reserved.
  EXPECT_TRUE(memblock.is_reserved(arch::virt_to_phys(memblock.memory().regions)));
  EXPECT_TRUE(memblock.is_reserved(arch::virt_to_phys(memblock.reserved().regions)));
  EXPECT_NE(host::log_text().find("is doubled"), std::string::npos);
}

TEST_F(MemblockTest, mem_limit_keeps_lowest_bytes_but_never_cuts_the_kernel) {
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 64 * MiB).ok());
  ASSERT_TRUE(memblock.add(PhysAddr(kBase + 128 * MiB), 64 * MiB).ok());
  ASSERT_TRUE(memblock.reserve(PhysAddr(kBase + 150 * MiB), 1 * MiB).ok());
  auto cut = memblock.enforce_memory_limit(96 * MiB);
  EXPECT_EQ(cut.value(), kBase + 160 * MiB);
  EXPECT_EQ(memblock.phys_mem_size(), 96 * MiB);
  EXPECT_EQ(memblock.end_of_dram().value(), kBase + 160 * MiB);
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 150 * MiB)));
  // Asking for less than what the kernel needs keeps the kernel.
  cut = memblock.enforce_memory_limit(1 * MiB, PhysAddr(kBase + 8 * MiB));
  EXPECT_EQ(cut.value(), kBase + 8 * MiB);
  EXPECT_EQ(memblock.phys_mem_size(), 8 * MiB);
  EXPECT_FALSE(memblock.is_reserved(PhysAddr(kBase + 150 * MiB)));
}

TEST_F(MemblockTest, nomap_memory_is_never_allocated_nor_free) {
  mmtest::Arena arena(kBase, kBase + 64 * MiB);
  ASSERT_TRUE(memblock.add(PhysAddr(kBase), 64 * MiB).ok());
  ASSERT_TRUE(memblock.mark_nomap(PhysAddr(kBase + 32 * MiB), 32 * MiB).ok());
  EXPECT_EQ(memblock.memory().cnt, 2u);
  EXPECT_TRUE(memblock.is_nomap(PhysAddr(kBase + 40 * MiB)));
  auto a = memblock.phys_alloc(1 * MiB, 4096);
  ASSERT_TRUE(a.ok());
  EXPECT_LT(a->value() + 1 * MiB, kBase + 32 * MiB + 1);
  uint64_t free = 0;
  memblock.for_each_free_range([&](PhysAddr s, PhysAddr e, int) {
    EXPECT_LE(e.value(), kBase + 32 * MiB);
    free += e - s;
  });
  EXPECT_EQ(free, 31 * MiB);
  EXPECT_FALSE(memblock.is_region_memory(PhysAddr(kBase), 64 * MiB));
}

TEST_F(MemblockTest, bootmem_firmware_nomap_and_images_are_reserved) {
  mmtest::Arena arena(kBase, kBase + 128 * MiB);
  auto info = std::make_unique<k::BootMemInfo>();
  info->add_memory(PhysRange{PhysAddr(kBase), 128 * MiB}, k::NUMA_NO_NODE);
  // OpenSBI 1.1 style: no no-map, but firmware.
  info->add_reserved(PhysRange{PhysAddr(kBase), 0x80000}, k::kResvFirmware, "mmode_resv0@80000000");
  info->add_reserved(PhysRange{PhysAddr(kBase + 64 * MiB), 4 * MiB}, k::kResvNoMap,
                     "nomap@84000000");
  info->add_reserved(PhysRange{PhysAddr(kBase + 72 * MiB), 4 * MiB},
                     k::kResvReusable | k::kResvSharedDmaPool, "linux,cma", 7);
  info->add_dynamic_reserved(PhysRange{PhysAddr(kBase + 96 * MiB), 16 * MiB}, 1 * MiB, 1 * MiB,
                             k::kResvSharedDmaPool, "dma-pool", 9);
  info->kernel = PhysRange{PhysAddr(kBase + 2 * MiB), 3 * MiB + 100};
  info->dtb = PhysRange{PhysAddr(kBase + 40 * MiB), 0x1234};
  info->initrd = PhysRange{PhysAddr(kBase + 48 * MiB), 2 * MiB};
  ASSERT_TRUE(k::memblock_init_from_bootmem(*info).ok());

  EXPECT_TRUE(memblock.is_nomap(PhysAddr(kBase)));
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 0x7f000)));
  EXPECT_FALSE(memblock.is_nomap(PhysAddr(kBase + 0x80000)));
  EXPECT_TRUE(memblock.is_nomap(PhysAddr(kBase + 66 * MiB)));
  EXPECT_FALSE(memblock.is_nomap(PhysAddr(kBase + 72 * MiB)));
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 73 * MiB)));
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 5 * MiB)));  // kernel tail page
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 40 * MiB)));
  EXPECT_TRUE(memblock.is_reserved(PhysAddr(kBase + 49 * MiB)));
  // Nothing free overlaps any of it.
  memblock.for_each_free_range([&](PhysAddr s, PhysAddr e, int) {
    const PhysRange f{s, e - s};
    EXPECT_FALSE(f.overlaps(PhysRange{PhysAddr(kBase), 0x80000}));
    EXPECT_FALSE(f.overlaps(PhysRange{PhysAddr(kBase + 64 * MiB), 4 * MiB}));
    EXPECT_FALSE(f.overlaps(PhysRange{PhysAddr(kBase + 72 * MiB), 4 * MiB}));
    EXPECT_FALSE(f.overlaps(PhysRange{PhysAddr(kBase + 2 * MiB), 3 * MiB + 100}));
  });
  // Recorded for the DMA layer; the dynamic pool is placed in its window.
  ASSERT_EQ(k::reserved_mem_count(), 4u);
  const k::ReservedMem* cma = k::reserved_mem_lookup(7);
  ASSERT_NE(cma, nullptr);
  EXPECT_TRUE(cma->flags & k::kResvReusable);
  const k::ReservedMem* pool = k::reserved_mem_lookup(9);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->range.size, 1 * MiB);
  EXPECT_GE(pool->range.base.value(), kBase + 96 * MiB);
  EXPECT_LE(pool->range.end().value(), kBase + 112 * MiB);
  EXPECT_EQ(pool->range.base.value() % MiB, 0u);
  EXPECT_TRUE(memblock.is_reserved(pool->range.base));
  EXPECT_EQ(k::reserved_mem_lookup(1234), nullptr);

  host::log_clear();
  memblock.dump();
  const std::string log = host::log_text();
  EXPECT_NE(log.find("80000000-8007ffff : Reserved"), std::string::npos) << log;
  EXPECT_NE(log.find("80080000-83ffffff : System RAM"), std::string::npos) << log;
  EXPECT_NE(log.find("  80200000-80500fff : reserved"), std::string::npos) << log;
}

TEST_F(MemblockTest, bootmem_mem_limit_and_numa_fallback) {
  auto info = std::make_unique<k::BootMemInfo>();
  info->add_memory(PhysRange{PhysAddr(kBase), 256 * MiB}, 0);
  info->add_memory(PhysRange{PhysAddr(kBase + 256 * MiB), 256 * MiB}, k::NUMA_NO_NODE);
  info->kernel = PhysRange{PhysAddr(kBase + 2 * MiB), 2 * MiB};
  info->mem_limit = 128 * MiB;
  ASSERT_TRUE(k::memblock_init_from_bootmem(*info).ok());
  EXPECT_EQ(memblock.phys_mem_size(), 128 * MiB);
  // Mixed node ids: everything is node 0.
  memblock.for_each_mem_region([](const k::MemblockRegion& r) { EXPECT_EQ(r.nid, 0); });
  EXPECT_NE(host::log_text().find("using one node"), std::string::npos);
}

TEST_F(MemblockTest, bootmem_without_memory_is_an_error) {
  auto info = std::make_unique<k::BootMemInfo>();
  auto r = k::memblock_init_from_bootmem(*info);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), k::Errno::kEINVAL);
}

}  // namespace
