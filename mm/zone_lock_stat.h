// Zone-lock acquisition counts, for the allocator scaling benchmark
// (mm/page_alloc_bench.cpp, issue 8 item 2): the per-CPU page lists exist
// so that the shared Zone::lock rate stays flat as harts are added, and
// this counter is how that is measured.
//
// Every site that takes a Zone::lock calls zone_lock_stat_inc(z) with the
// lock held. The increment is a plain load/store of a relaxed atomic: the
// zone lock already serialises writers, so no atomic read-modify-write
// (and no extra cache-line bouncing beyond the lock's own) is paid on the
// allocation path. Readers may see a slightly stale sum; that is fine for
// a statistic. Header-only so that every build that compiles the buddy
// allocator (kernel, host tests) gets it without a new source file.
#pragma once

#include <atomic>
#include <cstdint>

#include "mm/boot_mem.h"
#include "mm/zone.h"

namespace k {

inline std::atomic<uint64_t> g_zone_lock_acquisitions[kMaxNumNodes][MAX_NR_ZONES];

// z.lock held.
inline void zone_lock_stat_inc(const Zone& z) {
  std::atomic<uint64_t>& c = g_zone_lock_acquisitions[z.node][z.idx];
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Acquisitions of every zone's lock since boot.
inline uint64_t zone_lock_acquisitions() {
  uint64_t sum = 0;
  for (auto& node : g_zone_lock_acquisitions)
    for (auto& c : node) sum += c.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace k
