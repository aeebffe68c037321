// Arch interface: the kernel page table (swapper_pg_dir) for mm/.
//
// One table serves every hart; the paging mode (Sv39/Sv48) is whatever
// early boot chose (g_layout.levels). Leaves are as large as alignment and
// max_leaf_level allow; table pages come from the buddy allocator and go
// back when they become empty, except the root and the second-level tables
// that pgtable_init() preallocates for the vmalloc range (user page tables
// copy the kernel half's root entries, so those must never change).
// Kernel mappings are global with A and D preset (U74 faults instead of
// setting them, FACTS.md "A/D bits").
//
// Edits are serialised by one IRQ-safe spinlock. map_* does no TLB
// maintenance (the caller calls flush_cache_vmap() once for a batch);
// unmap/protect flush every hart before returning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "arch/riscv/mm/pgtable_core.h"
#include "arch/riscv/mm/pte.h"
#include "lib/result.h"
#include "lib/types.h"

namespace arch {

using pgprot_t = uint64_t;  // leaf PTE flags

inline constexpr pgprot_t PAGE_KERNEL = pte::kKernelRW;
inline constexpr pgprot_t PAGE_KERNEL_RO = pte::kKernelRO;
inline constexpr pgprot_t PAGE_KERNEL_ROX = pte::kKernelRX;
// Device memory: Svpbmt IO when the hart has it (Linux pgprot_noncached).
pgprot_t pgprot_io();

// Largest leaf a mapping may use.
inline constexpr unsigned kLeaf4K = 0;
inline constexpr unsigned kLeaf2M = 1;
inline constexpr unsigned kLeaf1G = 2;

// Maps [va, va+size) -> [pa, pa+size). EINVAL for misaligned or
// non-canonical arguments, EEXIST if something is mapped there already,
// ENOMEM without table pages; on failure nothing changed.
k::Result<void> map_kernel_range(k::VirtAddr va, k::PhysAddr pa, uint64_t size, pgprot_t prot,
                                 unsigned max_leaf_level);
// Maps count 4 KiB pages at va, page i to pa_of(i, ctx), under one lock
// and with one walk from the root per leaf table (vmalloc, vmap); pa_of is
// called once per page, in increasing i. EEXIST
// if any page is mapped already; on failure nothing stays mapped.
k::Result<void> map_kernel_pages(k::VirtAddr va, uint64_t count,
                                 k::PhysAddr (*pa_of)(uint64_t i, void* ctx), void* ctx,
                                 pgprot_t prot);
// Before the page allocator exists (percpu_init): 4 KiB leaves, table
// pages from memblock on node nid. No TLB maintenance.
k::Result<void> map_kernel_range_boot(k::VirtAddr va, k::PhysAddr pa, uint64_t size, pgprot_t prot,
                                      int nid);
// Removes [va, va+size) (holes allowed), flushes every hart's TLB, then
// frees page-table pages that became empty.
void unmap_kernel_range(k::VirtAddr va, uint64_t size);
// Removes [va, va+size) without any TLB flush and keeps the page-table
// pages that become empty. Before the range is mapped again the caller
// calls flush_and_prune_kernel_ranges() for it (vmalloc's lazy purge).
void unmap_kernel_range_noflush(k::VirtAddr va, uint64_t size);
// Frees the page-table pages left empty in the ranges next() yields
// (next returns false after the last), flushes every hart for [lo,
// lo+size) — a full flush if any table went — and only then returns those
// table pages to the page allocator. One shootdown for the whole batch.
void flush_and_prune_kernel_ranges(uint64_t lo, uint64_t size,
                                   bool (*next)(void* ctx, uint64_t* va, uint64_t* len), void* ctx);
// New flags for every leaf in the range (splitting large leaves at the
// edges); flushes every hart's TLB.
k::Result<void> protect_kernel_range(k::VirtAddr va, uint64_t size, pgprot_t prot);
// Points the 4 KiB leaf at va to pa with prot. No TLB flush: the caller
// flushes (flush_tlb_kernel_range) when the old page may be cached.
k::Result<void> remap_kernel_page(k::VirtAddr va, k::PhysAddr pa, pgprot_t prot);

// KFENCE (mm/kfence.h): makes the 4 KiB page at va absent (present =
// false: V cleared, translation and flags kept in the entry) or present
// again. A larger leaf covering va is split first, which may take a table
// page (ENOMEM) and flushes every hart. Once the page has its own leaf the
// call allocates nothing and flushes only this hart's entry for va, so it
// is safe with interrupts off and inside the page-fault handler; another
// hart may use its stale entry until its next flush (Linux's RISC-V
// kfence_protect_page() accepts the same). ENOENT if nothing maps va.
k::Result<void> set_kernel_page_present(k::VirtAddr va, bool present);

using KernelPte = PteLookup;
std::optional<KernelPte> lookup_kernel_address(k::VirtAddr va);

// Visits every leaf in [va, va+size) in address order (self-tests,
// dumps). fn(leaf_va, pte, level, ctx). Takes the page-table lock.
void walk_kernel_range(k::VirtAddr va, uint64_t size,
                       void (*fn)(uint64_t leaf_va, uint64_t pte, unsigned level, void* ctx),
                       void* ctx);

// After the page allocator: probes the TLB maintenance method and
// preallocates the second-level tables under the vmalloc range's root
// entries. false (after pr_err) without memory.
bool pgtable_init();

// After free_init_sections() (Linux mark_rodata_ro): the linear-map alias
// of kernel text and rodata becomes read-only (the image alias already
// is), and so do both aliases of the page-table pages below the root that
// map the image; later map/unmap/protect/remap of the image range or of
// the linear alias of its text, rodata, data and bss are refused (EPERM,
// pr_err). The root stays writable. false (after pr_err) if a range could
// not be protected.
bool mark_rodata_ro();
bool rodata_ro_done();
// fn(pa, ctx) for every page-table page below the root that maps part of
// the kernel image (self-tests).
void for_each_kernel_image_table(void (*fn)(k::PhysAddr pa, void* ctx), void* ctx);

// Page-table pages allocated by this layer and not yet freed.
uint64_t nr_kernel_pgtable_pages();

}  // namespace arch
