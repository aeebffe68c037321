// All harts allocate and free at once: every block is stamped with its
// owner and checked before it is freed, so a block handed out twice (a
// race in the buddy lists or the per-CPU lists) shows up as a foreign stamp.
#include <atomic>

#include <arch/cpu.h>

#include "arch/riscv/kernel/smp.h"
#include "kernel/selftest.h"
#include "mm/gfp.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace {

constexpr unsigned kRounds = 40;
constexpr unsigned kBatch = 48;

struct Stress {
  std::atomic<uint64_t> allocated{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> corrupt{0};
};

uint64_t stamp_of(unsigned cpu, unsigned round, unsigned slot) {
  return 0x5afe000000000000ull | (uint64_t{cpu} << 32) | (round << 16) | slot;
}

// xorshift: a cheap per-CPU sequence of orders.
uint32_t next_rand(uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

void hammer(void* arg) {
  auto* st = static_cast<Stress*>(arg);
  const unsigned cpu = arch::this_cpu();
  uint32_t seed = 0x9e3779b9u * (cpu + 1);
  k::Page* blocks[kBatch];
  unsigned orders[kBatch];
  for (unsigned round = 0; round < kRounds; ++round) {
    for (unsigned i = 0; i < kBatch; ++i) {
      // Mostly order 0 (the pcp path), some buddy-path orders up to 3.
      const uint32_t r = next_rand(seed);
      orders[i] = (r & 3) == 0 ? (r >> 2) % 4 : 0;
      blocks[i] = k::alloc_pages(k::GFP_KERNEL | k::__GFP_NOWARN, orders[i]);
      if (!blocks[i]) {
        st->failures.fetch_add(1);
        continue;
      }
      st->allocated.fetch_add(1);
      auto* words = static_cast<uint64_t*>(k::page_address(blocks[i]));
      const uint64_t n = (k::kPageSize << orders[i]) / sizeof(uint64_t);
      for (uint64_t w = 0; w < n; w += 64) words[w] = stamp_of(cpu, round, i);
    }
    for (unsigned i = 0; i < kBatch; ++i) {
      if (!blocks[i]) continue;
      const auto* words = static_cast<const uint64_t*>(k::page_address(blocks[i]));
      const uint64_t n = (k::kPageSize << orders[i]) / sizeof(uint64_t);
      for (uint64_t w = 0; w < n; w += 64)
        if (words[w] != stamp_of(cpu, round, i)) {
          st->corrupt.fetch_add(1);
          break;
        }
      k::__free_pages(blocks[i], orders[i]);
    }
  }
}

}  // namespace

SELFTEST(buddy_smp, all_harts_alloc_and_free_concurrently_without_sharing_a_block) {
  const uint64_t free_before = k::nr_free_pages();
  Stress st;
  const unsigned ran = arch::smp_call_all_concurrently(hammer, &st);
  KEXPECT_EQ(ran, arch::nr_online_cpus());
  KEXPECT_EQ(st.corrupt.load(), 0u);
  KEXPECT_EQ(st.failures.load(), 0u);
  KEXPECT_EQ(st.allocated.load(), uint64_t{ran} * kRounds * kBatch);
  // Per-CPU lists keep some pages; drain them before comparing.
  k::drain_all_pages(nullptr);
  KEXPECT_EQ(k::nr_free_pages(), free_before);
  t.diag("%u harts, %llu blocks allocated, stamped, verified and freed", ran,
         static_cast<unsigned long long>(st.allocated.load()));
}
