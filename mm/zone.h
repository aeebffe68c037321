// Nodes and zones: Linux's pg_data_t -> struct zone -> free_area[order].
//
// Each node with memory has three zones, by physical address:
//   ZONE_DMA    [RAM start, dma_zone_limit)  only when the DT restricts DMA
//               below 4 GiB (or zone_dma_bits= says so); empty otherwise
//   ZONE_DMA32  [.., 4 GiB)
//   ZONE_NORMAL [4 GiB, ..)
// A page's zone and node are stored in its struct page.
//
// Lock ranks (outer first): PerCpuPages::lock -> Zone::lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib/list.h"
#include "lib/spinlock.h"
#include "lib/types.h"
#include "mm/boot_mem.h"

namespace k {

enum ZoneType : uint8_t { ZONE_DMA = 0, ZONE_DMA32, ZONE_NORMAL, MAX_NR_ZONES };

// Orders 0..MAX_ORDER: the largest block is 4 MiB with 4 KiB pages.
inline constexpr unsigned MAX_ORDER = 10;
inline constexpr unsigned NR_PAGE_ORDERS = MAX_ORDER + 1;
inline constexpr uint64_t MAX_ORDER_NR_PAGES = uint64_t{1} << MAX_ORDER;

enum WatermarkKind : unsigned { WMARK_MIN = 0, WMARK_LOW, WMARK_HIGH, NR_WMARK };

struct FreeArea {
  ListHead free_list;
  uint64_t nr_free = 0;  // blocks of this order
};

// Order-0 pages cached for one CPU (Linux struct per_cpu_pages).
struct PerCpuPages {
  SpinLock lock;  // rank 1: before Zone::lock; taken with IRQs off
  int count = 0;  // pages on list
  int high = 0;   // drain batch pages when count reaches this
  int batch = 1;  // refill/drain chunk
  ListHead list;
};

struct PgData;

struct Zone {
  // Read-mostly after init.
  uint64_t watermark[NR_WMARK] = {};
  // Pages this zone keeps back from allocations that could have used a
  // higher zone: lowmem_reserve[highest zone the request allows].
  uint64_t lowmem_reserve[MAX_NR_ZONES] = {};
  PgData* zone_pgdat = nullptr;
  PerCpuPages* pcp = nullptr;  // [nr_pcp], indexed by arch::this_cpu()
  unsigned nr_pcp = 0;
  uint64_t zone_start_pfn = 0;
  uint64_t spanned_pages = 0;              // end_pfn - start_pfn, holes included
  uint64_t present_pages = 0;              // RAM pages in the span
  std::atomic<uint64_t> managed_pages{0};  // pages handed to the buddy allocator
  const char* name = "";
  uint8_t idx = 0;
  uint8_t node = 0;

  // The buddy allocator proper; lock rank 2.
  SpinLock lock;
  FreeArea free_area[NR_PAGE_ORDERS];
  // Pages on free_area lists (Linux NR_FREE_PAGES; pcp pages not included).
  std::atomic<int64_t> free_pages{0};

  Zone() = default;
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  uint64_t zone_end_pfn() const { return zone_start_pfn + spanned_pages; }
  bool populated() const { return present_pages != 0; }
  bool managed() const { return managed_pages.load(std::memory_order_relaxed) != 0; }
  bool spans_pfn(uint64_t pfn) const { return pfn >= zone_start_pfn && pfn < zone_end_pfn(); }
  uint64_t wmark(WatermarkKind k) const { return watermark[k]; }
  int64_t nr_free() const { return free_pages.load(std::memory_order_relaxed); }
  // Pages on all CPUs' pcp lists (racy snapshot).
  uint64_t pcp_count() const;
};

// A null-terminated fallback order of zones (Linux struct zonelist).
struct Zonelist {
  Zone** zones = nullptr;
  size_t nr = 0;
};

struct PgData {
  Zone node_zones[MAX_NR_ZONES];
  // Fallback: this node's zones then other nodes' by distance. NoFallback:
  // this node only (__GFP_THISNODE).
  Zonelist zonelist_fallback;
  Zonelist zonelist_nofallback;
  int node_id = 0;
  uint64_t node_start_pfn = 0;
  uint64_t node_spanned_pages = 0;
  uint64_t node_present_pages = 0;

  PgData() = default;
  PgData(const PgData&) = delete;
  PgData& operator=(const PgData&) = delete;
};
using pg_data_t = PgData;

extern const char* const kZoneNames[MAX_NR_ZONES];

// Physical limits of the zones, set by zone_sizes_init().
struct ZoneLimits {
  uint64_t dma_end_pfn = 0;    // 0: no ZONE_DMA
  uint64_t dma32_end_pfn = 0;  // 4 GiB
};
extern ZoneLimits g_zone_limits;

// For the page allocator's fast paths (mm/pcp.cpp), filled by
// free_area_init: each online node's pg_data_t (what NODE_DATA returns,
// without the call), and the zone whose per-CPU lists serve order-0
// requests on that node's CPUs (its highest populated zone: the first of
// its zonelist). nullptr for other nodes.
extern PgData* g_pgdat_fast[kMaxNumNodes];
extern Zone* g_node_pcp_zone[kMaxNumNodes];

// Zone of a pfn by address (not by node).
ZoneType pfn_zone_type(uint64_t pfn);
// One past the last pfn from `pfn` on with the same zone type.
uint64_t zone_type_end_pfn(uint64_t pfn);

// Sets g_zone_limits (dma_zone_limit as for free_area_init). Boot calls it
// before page_map_init, which stores each struct page's zone with the rest
// of it; free_area_init sets the same limits again.
void zone_limits_init(uint64_t dma_zone_limit);

// Builds every online node's pg_data_t and zones from memblock and the
// page map: spans, present pages, the zone/node of each struct page, the
// per-CPU lists and the zonelists; prints Linux's "Zone ranges:" log.
// dma_zone_limit: exclusive physical end of ZONE_DMA (0 = none).
bool free_area_init(uint64_t dma_zone_limit);

// Re-derives pcp batch/high from managed pages (after hand-over).
void zone_pcp_update_all();

// Iteration over populated structures.
template <typename F>
void for_each_zone(F f);
template <typename F>
void for_each_populated_zone(F f) {
  for_each_zone([&](Zone& z) {
    if (z.populated()) f(z);
  });
}

}  // namespace k

#include "mm/numa.h"

namespace k {
template <typename F>
void for_each_zone(F f) {
  for (int nid = 0; nid < kMaxNumNodes; ++nid) {
    PgData* pg = NODE_DATA(nid);
    if (!pg) continue;
    for (Zone& z : pg->node_zones) f(z);
  }
}
}  // namespace k
