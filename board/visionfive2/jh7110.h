// StarFive JH7110 facts used by the board hooks (FACTS.md "VisionFive 2";
// Linux Documentation/devicetree/bindings/riscv/starfive.yaml for the root
// compatibles; SiFive CCache: FLUSH64 register).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/types.h"

namespace k::jh7110 {

// DT root compatibles of JH7110 boards end in "starfive,jh7110"
// (starfive.yaml); the VisionFive 2 revisions put theirs first.
inline constexpr const char* kCompatible[] = {
    "starfive,visionfive-2-v1.3b", "starfive,visionfive-2-v1.2a", "starfive,jh7110", nullptr};

inline constexpr uint64_t kDramBase = 0x40000000;
// L2 cache controller (SiFive CCache): a write of a physical address to
// FLUSH64 writes the 64-byte line holding it back to DRAM and invalidates
// it (clean + invalidate; there is no clean-only or invalidate-only
// register). The L2 is inclusive of the U74 L1 data caches, so the line
// leaves every level.
inline constexpr uint64_t kCcacheBase = 0x2010000;
inline constexpr uint64_t kCcacheSize = 0x4000;
inline constexpr uint64_t kCcacheFlush64 = 0x200;
inline constexpr uint64_t kCacheLine = 64;
// Uncached alias of DRAM (FACTS.md): DRAM + 8 GiB.
inline constexpr uint64_t kUncachedAliasOffset = uint64_t{8} << 30;

// Calls f(line_pa) for each cache line overlapping [pa, pa + size);
// returns the number of lines. size 0 -> none; a range that would wrap
// past 2^64 is clipped at the top.
template <typename F>
constexpr size_t for_each_cache_line(uint64_t pa, uint64_t size, F f) {
  if (size == 0) return 0;
  const uint64_t first = pa & ~(kCacheLine - 1);
  const uint64_t last = (pa + size - 1 < pa ? ~uint64_t{0} : pa + size - 1) & ~(kCacheLine - 1);
  size_t n = 0;
  for (uint64_t line = first;; line += kCacheLine) {
    f(line);
    ++n;
    if (line == last) break;
  }
  return n;
}

}  // namespace k::jh7110
