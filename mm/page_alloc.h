// The buddy page allocator: Linux's alloc_pages() family.
//
// Every allocation returns an aligned block of 2^order pages from one zone,
// or nullptr on failure (after a report unless __GFP_NOWARN). Order-0
// requests are served from per-CPU lists (mm/pcp.h). Frees check the block
// they are given: a double free, a free with the wrong order, of a tail or
// reserved page, is reported with pr_err ("BUG: Bad page state") and
// refused, leaving the allocator's state untouched.
//
// Safe to call from any hart concurrently and with interrupts on or off
// (zone and pcp locks are taken with interrupts masked).
#pragma once

#include <cstdint>

#include "mm/gfp.h"
#include "mm/page.h"
#include "mm/zone.h"

namespace k {

// 2^order pages preferring node nid (NUMA_NO_NODE: the calling CPU's node).
Page* alloc_pages_node(int nid, gfp_t gfp, unsigned order);
// 2^order pages from the zonelist of the calling CPU's node.
inline Page* alloc_pages(gfp_t gfp, unsigned order) {
  return alloc_pages_node(NUMA_NO_NODE, gfp, order);
}
inline Page* alloc_page(gfp_t gfp) { return alloc_pages(gfp, 0); }

// Linear-map address of a new block, nullptr on failure.
void* __get_free_pages(gfp_t gfp, unsigned order);
inline void* __get_free_page(gfp_t gfp) { return __get_free_pages(gfp, 0); }
void* get_zeroed_page(gfp_t gfp);

// Drops a reference; the block goes back when the count reaches zero.
// order must be the allocation's order.
void __free_pages(Page* page, unsigned order);
inline void __free_page(Page* page) { __free_pages(page, 0); }
// By linear-map address; nullptr is ignored.
void free_pages(void* addr, unsigned order);
inline void free_page(void* addr) { free_pages(addr, 0); }

// Returns the order-0 pages cached on this CPU's (drain_local_pages) or on
// every CPU's (drain_all_pages) pcp lists of zone z (nullptr: all zones) to
// the buddy lists.
void drain_local_pages(Zone* z);
void drain_all_pages(Zone* z);

// The zone a page belongs to.
Zone& page_zone(const Page* page);

// Free pages in every zone, pcp lists included.
uint64_t nr_free_pages();
// Free pages of one zone: buddy lists plus pcp lists.
uint64_t zone_free_pages_total(const Zone& z);
// Sum of managed pages (Linux totalram_pages()).
uint64_t totalram_pages();
// page_alloc_debug=1 (Linux CONFIG_DEBUG_VM-style, default off): every
// allocation and free takes the checked paths: new pages are checked for
// bad state, and order-0 requests bypass the per-CPU fast path. Frees
// refuse double frees and wrong orders with or without it.
void page_alloc_set_debug(bool on);
bool page_alloc_debug();

// How many "Bad page state" reports were made (tests, shell).
uint64_t nr_bad_page_reports();

}  // namespace k
