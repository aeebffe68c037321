// RISC-V page-table entry format (Privileged spec v1.12, 4.3.1 / 4.4.1 /
// 4.5.1 for Sv32/Sv39/Sv48; Svpbmt chapter for bits 62:61, Svnapot bit 63).
// Shared by Sv39 and Sv48: both use 9 index bits per level and the same
// 64-bit entry; only the number of levels differs, and that is a runtime
// value (one Image for both modes).
#pragma once

#include <cstdint>

#include "lib/types.h"

namespace arch::pte {

inline constexpr uint64_t kValid = 1u << 0;
inline constexpr uint64_t kRead = 1u << 1;
inline constexpr uint64_t kWrite = 1u << 2;
inline constexpr uint64_t kExec = 1u << 3;
inline constexpr uint64_t kUser = 1u << 4;
inline constexpr uint64_t kGlobal = 1u << 5;
inline constexpr uint64_t kAccessed = 1u << 6;
inline constexpr uint64_t kDirty = 1u << 7;
inline constexpr uint64_t kSoft0 = 1u << 8;  // RSW bits, ours to use
inline constexpr uint64_t kSoft1 = 1u << 9;
// Svpbmt memory types (bits 62:61): 0 PMA, 1 NC, 2 IO.
inline constexpr uint64_t kPbmtNC = uint64_t{1} << 61;
inline constexpr uint64_t kPbmtIO = uint64_t{2} << 61;
inline constexpr uint64_t kPbmtMask = uint64_t{3} << 61;
inline constexpr uint64_t kNapot = uint64_t{1} << 63;

inline constexpr unsigned kPpnShift = 10;
inline constexpr uint64_t kPpnMask = (uint64_t{1} << 44) - 1;  // PPN is bits 53:10
inline constexpr unsigned kIndexBits = 9;
inline constexpr unsigned kEntries = 1u << kIndexBits;

// Kernel mappings get A and D preset: SiFive U74 raises a page fault
// instead of setting them (Svade behaviour, FACTS.md "A/D bits").
inline constexpr uint64_t kKernelRW = kValid | kRead | kWrite | kGlobal | kAccessed | kDirty;
inline constexpr uint64_t kKernelRO = kValid | kRead | kGlobal | kAccessed;
inline constexpr uint64_t kKernelRX = kValid | kRead | kExec | kGlobal | kAccessed;
inline constexpr uint64_t kKernelRWX = kKernelRW | kExec;

constexpr bool is_valid(uint64_t e) { return e & kValid; }
// R=W=X=0 with V=1 points to the next level (4.3.2 step 4).
constexpr bool is_leaf(uint64_t e) { return e & (kRead | kWrite | kExec); }
constexpr k::PhysAddr phys(uint64_t e) {
  return k::PhysAddr(((e >> kPpnShift) & kPpnMask) << k::kPageShift);
}
constexpr uint64_t make(k::PhysAddr pa, uint64_t flags) {
  return ((pa.value() >> k::kPageShift) << kPpnShift) | flags;
}
constexpr uint64_t make_table(k::PhysAddr pa) { return make(pa, kValid); }

// Level 0 maps 4 KiB, 1 maps 2 MiB, 2 maps 1 GiB, 3 maps 512 GiB.
constexpr uint64_t level_size(unsigned level) {
  return uint64_t{1} << (k::kPageShift + kIndexBits * level);
}
constexpr unsigned index(uint64_t va, unsigned level) {
  return (va >> (k::kPageShift + kIndexBits * level)) & (kEntries - 1);
}

// satp (4.1.11): MODE in bits 63:60, ASID 59:44, PPN 43:0.
inline constexpr uint64_t kSatpModeSv39 = 8;
inline constexpr uint64_t kSatpModeSv48 = 9;
inline constexpr uint64_t kSatpModeSv57 = 10;
constexpr uint64_t satp_mode_for_levels(unsigned levels) { return levels + 5; }
constexpr uint64_t make_satp(unsigned levels, k::PhysAddr root, uint64_t asid = 0) {
  return (satp_mode_for_levels(levels) << 60) | (asid << 44) | (root.value() >> k::kPageShift);
}

}  // namespace arch::pte
