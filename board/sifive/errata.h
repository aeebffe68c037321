// SiFive core errata that board hooks switch on (pure rules, host-tested).
//
// CIP-1200 "address-specific SFENCE.VMA may not flush the TLB entry": the
// affected cores and revisions are those Linux lists in
// arch/riscv/errata/sifive/errata.c (marchid 0x8000000000000007 -- U54/U74
// series -- or 0x1, and mimpid[23:0] <= 0x200630 except mimpid 0x01200626).
// The workaround is to turn every range flush into a full flush
// (arch::tlb_set_flush_all_quirk).
#pragma once

#include <cstdint>

namespace k::sifive {

inline constexpr uint64_t kMarchidU7Series = 0x8000000000000007ull;
inline constexpr uint64_t kMarchidLegacy = 0x1;

constexpr bool cip1200_affected(uint64_t marchid, uint64_t mimpid) {
  if (marchid != kMarchidU7Series && marchid != kMarchidLegacy) return false;
  if ((mimpid & 0xffffff) > 0x200630 || mimpid == 0x01200626) return false;
  return true;
}

// The SiFive vendor id (JEDEC bank 10, id 0x09 -> mvendorid 0x489).
inline constexpr uint64_t kMvendoridSiFive = 0x489;

}  // namespace k::sifive
