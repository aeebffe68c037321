// Arch interface: TLB maintenance (Privileged spec v1.12, 4.2.1 SFENCE.VMA;
// SBI spec v1.0 chapter 8 RFENCE).
//
// Rules for callers (Linux Documentation/core-api/cachetlb.rst):
//  - after changing or removing a valid kernel PTE, call
//    flush_tlb_kernel_range() before the old page or table page is reused;
//  - after creating new kernel mappings, call flush_cache_vmap(): RISC-V
//    harts may cache invalid entries (the reason Svvptc exists), so a new
//    mapping is made visible everywhere before its address is handed out;
//  - ranges above kTlbFlushAllPages pages become one full flush.
// Every function here may be called with interrupts on or off, except
// that without SBI RFENCE the remote part needs the other harts to take
// cross-call IPIs (it never waits with interrupts off on this hart).
#pragma once

#include <cstdint>

#include "arch/riscv/kernel/csr.h"  // local_flush_tlb_all(), local_flush_tlb_page()

namespace arch {

// Above this many pages a range flush becomes a full flush (Linux riscv
// tlb_flush_all_threshold is 64 as well).
inline constexpr uint64_t kTlbFlushAllPages = 64;

// sfence.vma with rs2 = asid: that address space's non-global entries.
inline void local_flush_tlb_asid(unsigned long asid) {
  asm volatile("sfence.vma zero, %0" ::"r"(asid) : "memory");
}
inline void local_flush_tlb_page_asid(uint64_t va, unsigned long asid) {
  asm volatile("sfence.vma %0, %1" ::"r"(va), "r"(asid) : "memory");
}

// This hart only. Honours the flush-all quirk and the threshold.
void local_flush_tlb_range(uint64_t start, uint64_t size);
void local_flush_tlb_range_asid(uint64_t start, uint64_t size, unsigned long asid);

// This hart and every other online hart.
void flush_tlb_all();
void flush_tlb_kernel_range(uint64_t start, uint64_t size);
void flush_tlb_range_asid(uint64_t start, uint64_t size, unsigned long asid);
// Makes new kernel mappings in [start, start+size) visible on every hart.
void flush_cache_vmap(uint64_t start, uint64_t size);

// Board quirk: address-specific sfence.vma is unreliable (SiFive erratum
// CIP-1200 on some U54/U74 revisions) -> every flush is a full flush.
// Board code calls this; so does the bootarg tlb_flush_all=1.
void tlb_set_flush_all_quirk(bool on, const char* why);
bool tlb_flush_all_quirk();

// Reads the bootarg and probes SBI RFENCE; called by pgtable_init().
void tlb_init();

}  // namespace arch
