// Page accounting: where every present page of every zone is ("nothing
// lost", issue 9 item 2).
//
// For each zone:
//
//   present = free + pcp                         (buddy + per-CPU lists)
//           + slab + kmalloc_large + pgtable     (accounted categories:
//           + vmalloc + kstack + dma + user       account_pages() below)
//           + other                              (allocated, no category)
//           + reserved + kernel_image            (never managed by buddy)
//
// free and pcp come from the zone's counters, reserved is present -
// managed - kernel_image, kernel_image counts the PG_reserved pages of
// [_start, _end) in the zone, and `other` is what remains of the managed
// pages (allocated through alloc_pages() by code without a category: mempool
// page pools, the zero page, vmap-area nodes, tests). The equation is
// closed by that remainder; what is checked is
//   - no column is negative (a category freed more than it took), and
//   - a page walk agrees with the counters: PG_buddy blocks == free,
//     PG_pcp pages == pcp, PG_slab blocks == slab, PG_reserved == reserved
//     + kernel_image (mm_accounting_check), and
//   - against a snapshot: every column of every zone is back (free and pcp
//     compared as one sum, pages move between them) -- a leak names its
//     category and zone (mm_accounting_verify).
//
// Categories are maintained by the code that allocates pages for that
// purpose, at the allocation and at the final free:
//   account_pages(MM_SLAB, page, order, +1) ... account_pages(..., -1)
// Per-CPU areas come from memblock at boot (reserved) and alloc_percpu()
// carves them without taking pages, so there is no per-CPU column.
//
// Counters are per node and zone (from struct page), updated with relaxed
// atomics; a snapshot taken while other harts allocate is approximate,
// so snapshots and checks belong at quiet points (between self-test
// suites, at the end of a sweep step).
#pragma once

#include <atomic>
#include <cstdint>

#include "mm/boot_mem.h"
#include "mm/page.h"
#include "mm/zone.h"

namespace k {

enum MmAcct : unsigned {
  // Derived from the zone.
  MM_FREE = 0,
  MM_PCP,
  // Accounted by their allocation sites.
  MM_SLAB,
  MM_KMALLOC_LARGE,
  MM_PGTABLE,
  MM_VMALLOC,
  MM_KSTACK,
  MM_DMA,
  MM_USER,
  // Derived.
  MM_OTHER,
  MM_RESERVED,
  MM_KERNEL_IMAGE,
  MM_NR_ACCT,
};
inline constexpr unsigned MM_FIRST_CATEGORY = MM_SLAB;
inline constexpr unsigned MM_LAST_CATEGORY = MM_USER;

// Column names for reports and the memacct table ("slab", "user", ...).
const char* mm_acct_name(unsigned acct);

// Adds (sign > 0) or removes (sign < 0) the 2^order pages at `page` to or
// from `category` (MM_SLAB..MM_USER) in the page's zone.
void account_pages(MmAcct category, const Page* page, unsigned order, int sign);
// Moves 2^order pages from one category to another (a vmalloc area that
// becomes a kernel stack).
void reaccount_pages(MmAcct from, MmAcct to, const Page* page, unsigned order);

// Drops one reference to an order-0 page that may be shared (user pages
// after fork); the last reference takes it out of `category` and frees it.
void put_accounted_page(MmAcct category, Page* page);

// One category's pages in a zone, or in all zones (nid < 0).
int64_t mm_category_pages(MmAcct category, int nid = -1, int zone = -1);

// Every column of every zone. Large (tens of KiB): keep it static, never
// on a kernel stack.
struct MmAccountingSnapshot {
  int64_t v[kMaxNumNodes][MAX_NR_ZONES][MM_NR_ACCT];
  bool valid = false;
};
void mm_accounting_snapshot(MmAccountingSnapshot* out);

// Drops what allocators keep cached on purpose and may release at any
// later moment, so that a snapshot and its verify compare like with like:
// empty slabs, page tables of lazily freed vmalloc ranges (vmalloc_purge)
// and the spare per-CPU chunk. Call it right before both. Kernel only
// (mm/accounting_quiesce.cpp).
void mm_accounting_quiesce();
// Free pages after mm_accounting_quiesce() and draining the per-CPU lists:
// the figure "nothing lost" checks compare (kernel only).
uint64_t nr_free_pages_quiesced();

// Report lines go to a sink (printk when null): one line per finding.
using MmReportFn = void (*)(void* ctx, const char* line);

// The current state on its own: no negative column, and the page walk
// agrees with the counters. True if consistent.
bool mm_accounting_check(MmReportFn sink = nullptr, void* ctx = nullptr);
// mm_accounting_check() plus: every column of every zone equals `before`
// (free+pcp as one sum). One line per difference:
//   "zone Normal node 0: slab 132 -> 135 (+3 pages)". True if all equal.
bool mm_accounting_verify(const MmAccountingSnapshot& before, MmReportFn sink = nullptr,
                          void* ctx = nullptr);

// The table (shell `memacct`): one row per populated zone, one column per
// MmAcct, and the per-zone sum against present pages.
void mm_accounting_show();

}  // namespace k
