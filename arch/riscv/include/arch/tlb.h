// Arch interface: TLB maintenance (Privileged spec v1.12, 4.2.1 SFENCE.VMA;
// SBI spec v1.0 chapter 8 RFENCE).
//
// Rules for callers (Linux Documentation/core-api/cachetlb.rst):
//  - after changing or removing a valid kernel PTE, call
//    flush_tlb_kernel_range() before the old page or table page is reused;
//  - after creating new kernel mappings, call flush_cache_vmap(): RISC-V
//    harts may cache invalid entries (the reason Svvptc exists). Like
//    Linux >= 6.11 it sends no sfence.vma anywhere: it marks every hart
//    (a generation count) and a hart that then faults on the new address
//    fixes itself up with a local flush (vmalloc_spurious_fault(), from
//    the kernel page-fault path), so new mappings never cost a remote
//    shootdown;
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
// Makes new kernel mappings in [start, start+size) of the vmalloc or
// per-CPU range visible on every hart, through the spurious-fault fixup.
void flush_cache_vmap(uint64_t start, uint64_t size);
// The same with a remote shootdown, for mappings another hart may touch
// where it cannot take a page fault (a kernel stack: the trap entry would
// fault again pushing its frame).
void flush_cache_vmap_all_harts(uint64_t start, uint64_t size);
// Kernel page fault at addr: true if addr is in the vmalloc/per-CPU range
// and this hart had not flushed since flush_cache_vmap() last published a
// mapping; it has now (local sfence.vma), and the access is to be retried.
// A second fault on the same address returns false (a real fault).
bool vmalloc_spurious_fault(uint64_t addr);
uint64_t nr_vmalloc_spurious_faults();

// Board quirk: address-specific sfence.vma is unreliable (SiFive erratum
// CIP-1200 on some U54/U74 revisions) -> every flush is a full flush.
// Board code calls this; so does the bootarg tlb_flush_all=1.
void tlb_set_flush_all_quirk(bool on, const char* why);
bool tlb_flush_all_quirk();

// Reads the bootarg and probes SBI RFENCE; called by pgtable_init().
void tlb_init();

}  // namespace arch
