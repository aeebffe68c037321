// All "harts" (std::threads with their own fake this_cpu) allocate and
// free at once; every block is stamped with its owner and checked before
// it is freed, so a block handed out twice is caught; in the end nothing
// is lost and the free lists are back to their initial state.
#include <random>
#include <thread>

#include "mm_test_arena.h"

namespace {

using k::Page;
using k::PhysAddr;
using k::PhysRange;
using mmtest::Machine;
using mmtest::MiB;

void stamp(Page* p, unsigned order, uint64_t tag) {
  auto* w = static_cast<uint64_t*>(k::page_address(p));
  const uint64_t words = (k::kPageSize << order) / 8;
  for (uint64_t i = 0; i < words; i += 64) w[i] = tag;  // one word per cache line
  w[words - 1] = tag;
}

bool stamped(Page* p, unsigned order, uint64_t tag) {
  auto* w = static_cast<uint64_t*>(k::page_address(p));
  const uint64_t words = (k::kPageSize << order) / 8;
  for (uint64_t i = 0; i < words; i += 64)
    if (w[i] != tag) return false;
  return w[words - 1] == tag;
}

void run_harts(unsigned nharts, int rounds, uint64_t dma_limit) {
  auto m = std::make_unique<Machine>(0xF0000000, 0x110000000, nharts);
  m->info().add_memory(PhysRange{PhysAddr(0xF0000000), 512 * MiB}, k::NUMA_NO_NODE);
  m->info().dma_zone_limit = dma_limit;
  ASSERT_TRUE(m->boot());
  k::drain_all_pages(nullptr);
  const auto before = mmtest::buddy_snapshot();
  const uint64_t free_before = k::nr_free_pages();
  const uint64_t reports_before = k::nr_bad_page_reports();
  std::atomic<uint64_t> clobbered{0}, allocated{0};
  std::vector<std::thread> threads;
  for (unsigned h = 0; h < nharts; ++h) {
    threads.emplace_back([&, h] {
      arch::set_this_cpu(h);
      std::mt19937_64 rng(h * 7919 + 1);
      struct Live {
        Page* p;
        unsigned order;
        uint64_t tag;
      };
      std::vector<Live> live;
      const k::gfp_t gfps[] = {k::GFP_KERNEL, k::GFP_ATOMIC, k::GFP_DMA32, k::GFP_DMA};
      for (int r = 0; r < rounds; ++r) {
        if (live.size() < 64 && (live.empty() || rng() % 2)) {
          const unsigned order = rng() % 4 == 0 ? static_cast<unsigned>(rng() % 6) : 0;
          Page* p = k::alloc_pages(gfps[rng() % 4] | k::__GFP_NOWARN, order);
          if (!p) continue;
          const uint64_t tag = (uint64_t{h} << 48) | static_cast<uint64_t>(r);
          stamp(p, order, tag);
          live.push_back({p, order, tag});
          allocated.fetch_add(1, std::memory_order_relaxed);
        } else {
          const size_t i = rng() % live.size();
          if (!stamped(live[i].p, live[i].order, live[i].tag)) clobbered.fetch_add(1);
          k::__free_pages(live[i].p, live[i].order);
          live[i] = live.back();
          live.pop_back();
        }
      }
      for (auto& l : live) {
        if (!stamped(l.p, l.order, l.tag)) clobbered.fetch_add(1);
        k::__free_pages(l.p, l.order);
      }
    });
  }
  for (auto& t : threads) t.join();
  arch::set_this_cpu(0);
  EXPECT_EQ(clobbered.load(), 0u) << "a block was handed out twice";
  EXPECT_GT(allocated.load(), static_cast<uint64_t>(rounds) * nharts / 4);
  EXPECT_EQ(k::nr_bad_page_reports(), reports_before);
  EXPECT_EQ(k::nr_free_pages(), free_before);
  k::drain_all_pages(nullptr);
  EXPECT_EQ(mmtest::buddy_snapshot(), before);
}

TEST(MmConcurrency, four_harts_alloc_and_free_at_once) { run_harts(4, 20000, 0); }
TEST(MmConcurrency, eight_harts_with_a_dma_zone) { run_harts(8, 10000, 0xF8000000); }

// Harts exhaust memory together: allocations fail cleanly (no hang), the
// drain of other harts' lists happens, and everything comes back.
TEST(MmConcurrency, harts_exhaust_memory_together) {
  const unsigned nharts = 4;
  auto m = std::make_unique<Machine>(0x80000000, 0x80000000 + 64 * MiB, nharts);
  m->info().add_memory(PhysRange{PhysAddr(0x80000000), 64 * MiB}, k::NUMA_NO_NODE);
  ASSERT_TRUE(m->boot());
  k::drain_all_pages(nullptr);
  const auto before = mmtest::buddy_snapshot();
  host::g_log_echo = false;
  std::vector<std::vector<Page*>> got(nharts);
  std::vector<std::thread> threads;
  for (unsigned h = 0; h < nharts; ++h)
    threads.emplace_back([&, h] {
      arch::set_this_cpu(h);
      while (Page* p = k::alloc_pages(k::GFP_KERNEL | k::__GFP_NOWARN, 0)) {
        stamp(p, 0, h);
        got[h].push_back(p);
      }
    });
  for (auto& t : threads) t.join();
  host::g_log_echo = true;
  size_t total = 0;
  for (unsigned h = 0; h < nharts; ++h) {
    for (Page* p : got[h]) EXPECT_TRUE(stamped(p, 0, h));
    total += got[h].size();
  }
  EXPECT_GT(total, 14000u);
  for (unsigned h = 0; h < nharts; ++h) {
    arch::set_this_cpu(h);
    for (Page* p : got[h]) k::__free_pages(p, 0);
  }
  arch::set_this_cpu(0);
  k::drain_all_pages(nullptr);
  EXPECT_EQ(mmtest::buddy_snapshot(), before);
}

}  // namespace
