// vmalloc: virtually contiguous kernel memory in [g_layout.vmalloc_start,
// g_layout.vmalloc_end) (Linux include/linux/vmalloc.h).
//
// Every area is followed by one unmapped guard page, so running off the
// end of one faults instead of corrupting the next. Pages come from the
// buddy allocator one at a time (node-local for vmalloc_node) and are
// mapped with 4 KiB kernel RW leaves (one walk from the root per leaf
// table); the mapping is visible on every hart before the address is
// returned (this hart flushes; the others fix up a stale entry on first
// touch, arch/tlb.h flush_cache_vmap).
//
// Lazy purge (Linux vmap_lazy_nr / lazy_max_pages): vfree, vunmap and
// iounmap clear the PTEs and flush only this hart; the virtual range is
// not reused until a purge has flushed every hart's TLB, batched once
// lazy_max_pages() pages of freed ranges have piled up (or an allocation
// finds no room, or vmalloc_purge() is called). Pages go back to the
// buddy allocator at once, like Linux: another hart can reach them only
// through a stale entry for an address that was freed, i.e. through a
// use-after-free. Address ranges come from the O(log n) free-area
// allocator in mm/vmap_area.h.
//
// Boot order: vmalloc_init() once the page allocator works (right after
// setup_page_allocator()); everything here returns nullptr before that.
// All functions may be called from any hart; vfree/vunmap must not be
// called with interrupts off when the firmware lacks SBI RFENCE (the TLB
// shootdown then needs cross-call IPIs).
#pragma once

#include <cstddef>
#include <cstdint>

#include "mm/gfp.h"
#include "mm/vmap_area.h"

namespace k {

struct Page;

// vm_struct flags (Linux values where Linux has the flag).
inline constexpr uint64_t VM_IOREMAP = 0x1;
inline constexpr uint64_t VM_ALLOC = 0x2;
inline constexpr uint64_t VM_MAP = 0x4;
// This kernel's: the area also has an unmapped page below its first byte
// (kernel stacks grow down into it).
inline constexpr uint64_t VM_GUARD_BELOW = 0x10000;
// Being torn down; lookups ignore it (no double vfree).
inline constexpr uint64_t VM_FREEING = 0x20000;

// Sets up the kernel page table's vmalloc tables and the area allocator.
// false (after pr_err) if the page allocator cannot provide the memory.
bool vmalloc_init();
bool vmalloc_ready();

// size bytes (rounded up to pages) of zeroed-or-not memory, or nullptr
// (size 0, too large, or out of memory: reported unless __GFP_NOWARN).
void* vmalloc(size_t size);
void* vzalloc(size_t size);
// Pages from node `node` (NUMA_NO_NODE: this CPU's node).
void* vmalloc_node(size_t size, int node);
void* vzalloc_node(size_t size, int node);
// The general form: alignment of the area (power of two >= page size),
// GFP flags for the pages, vm flags (VM_GUARD_BELOW), the caller shown in
// vmallocinfo.
void* __vmalloc_node(size_t size, size_t align, gfp_t gfp, int node, uint64_t vm_flags,
                     const void* caller);
// Frees a vmalloc'd area. nullptr is ignored; an address that is not the
// start of a live vmalloc area is reported with pr_err and ignored.
void vfree(const void* addr);

// Maps `count` existing pages contiguously (Linux vmap; flags: VM_MAP);
// prot 0 means PAGE_KERNEL. vunmap removes the mapping, not the pages.
void* vmap(Page* const* pages, unsigned count, uint64_t flags, uint64_t prot);
void vunmap(const void* addr);

// Whether addr lies in the vmalloc range; the page backing a vmalloc'd
// or vmap'd address (nullptr if unmapped).
bool is_vmalloc_addr(const void* addr);
Page* vmalloc_to_page(const void* addr);

// Lower layer for ioremap and stacks: reserve an area of `size` bytes
// (page-rounded; plus the guard page(s)), aligned to `align`, with
// vm_flags and caller recorded; nothing is mapped. free_vm_area() gives
// the addresses back (the caller has unmapped them).
VmapArea* get_vm_area(uint64_t size, uint64_t align, uint64_t vm_flags, const void* caller);
void free_vm_area(VmapArea* area);
// The live area whose mapped part starts at addr (nullptr if none).
VmapArea* find_vm_area(const void* addr);
// Like find_vm_area, but only an area with one of `want` flags, which it
// marks VM_FREEING so that no one else can claim it (the first step of
// every teardown: a second vfree of the same address finds nothing).
VmapArea* claim_vm_area(const void* addr, uint64_t want);
// Teardown of a claimed area whose pages the caller owns: unmaps it
// (this hart flushed) and queues the range for the lazy purge.
void vm_area_unmap_lazy(VmapArea* area);

// Prints every live area like Linux /proc/vmallocinfo.
void vmallocinfo_dump();

// Flushes every hart's TLB for the lazily freed ranges and returns them to
// the free-area allocator (Linux vm_unmap_aliases).
void vmalloc_purge();
// How many pages of freed ranges trigger a purge: 32 MiB times
// fls(CPUs), as Linux's lazy_max_pages().
uint64_t lazy_max_pages();

// Leak counters: pages owned by vmalloc areas, live areas of any kind
// (lazily freed ones not counted), freed ranges waiting for a purge.
uint64_t nr_vmalloc_pages();
uint64_t nr_vmap_areas();
uint64_t nr_lazy_vmap_pages();

}  // namespace k
