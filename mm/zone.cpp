// Node and zone construction, zonelists. See zone.h.
#include "mm/zone.h"

#include <new>

#include <arch/cpu.h>

#include "kernel/printk.h"
#include "mm/memblock.h"
#include "mm/page_map.h"

namespace k {

// Linux's zone names as /proc/zoneinfo prints them.
const char* const kZoneNames[MAX_NR_ZONES] = {"DMA", "DMA32", "Normal"};
ZoneLimits g_zone_limits;
PgData* g_pgdat_fast[kMaxNumNodes];
Zone* g_node_pcp_zone[kMaxNumNodes];

namespace {

constexpr uint64_t k4GiBPfn = (uint64_t{4} << 30) >> kPageShift;

void zone_pfn_limits(unsigned z, uint64_t* lo, uint64_t* hi) {
  switch (z) {
    case ZONE_DMA:
      *lo = 0;
      *hi = g_zone_limits.dma_end_pfn;
      return;
    case ZONE_DMA32:
      *lo = g_zone_limits.dma_end_pfn;
      *hi = g_zone_limits.dma32_end_pfn;
      return;
    default:
      *lo = g_zone_limits.dma32_end_pfn;
      *hi = ~uint64_t{0};
      return;
  }
}

uint64_t rstart_pfn(const MemblockRegion& r) {
  return align_up(r.base.value(), kPageSize) >> kPageShift;
}
uint64_t rend_pfn(const MemblockRegion& r) { return r.end().value() >> kPageShift; }
int rnid(const MemblockRegion& r) { return r.nid >= 0 && r.nid < kMaxNumNodes ? r.nid : 0; }

unsigned long long pa_of(uint64_t pfn) {
  return static_cast<unsigned long long>(pfn << kPageShift);
}

bool init_node(int nid) {
  void* mem = memblock.alloc(sizeof(PgData), 64, nid);
  if (!mem) return false;
  PgData* pg = new (mem) PgData();
  pg->node_id = nid;
  uint64_t start = ~uint64_t{0}, end = 0, present = 0;
  memblock.for_each_mem_region([&](const MemblockRegion& r) {
    if (rnid(r) != nid || rstart_pfn(r) >= rend_pfn(r)) return;
    if (rstart_pfn(r) < start) start = rstart_pfn(r);
    if (rend_pfn(r) > end) end = rend_pfn(r);
    present += rend_pfn(r) - rstart_pfn(r);
  });
  if (end == 0) start = 0;
  pg->node_start_pfn = start;
  pg->node_spanned_pages = end - start;
  pg->node_present_pages = present;
  pr_info("Initmem setup node %d [mem %#018llx-%#018llx]\n", nid, pa_of(start), pa_of(end) - 1);

  const unsigned ncpu = arch::nr_cpus() ? arch::nr_cpus() : 1;
  for (unsigned z = 0; z < MAX_NR_ZONES; ++z) {
    Zone& zone = pg->node_zones[z];
    zone.name = kZoneNames[z];
    zone.idx = static_cast<uint8_t>(z);
    zone.node = static_cast<uint8_t>(nid);
    zone.zone_pgdat = pg;
    uint64_t lo, hi;
    zone_pfn_limits(z, &lo, &hi);
    const uint64_t zs = start > lo ? start : lo;
    const uint64_t ze = end < hi ? end : hi;
    if (zs >= ze) continue;
    uint64_t zpresent = 0;
    memblock.for_each_mem_region([&](const MemblockRegion& r) {
      if (rnid(r) != nid) return;
      const uint64_t s = rstart_pfn(r) > zs ? rstart_pfn(r) : zs;
      const uint64_t e = rend_pfn(r) < ze ? rend_pfn(r) : ze;
      if (s < e) zpresent += e - s;
    });
    if (!zpresent) continue;
    zone.zone_start_pfn = zs;
    zone.spanned_pages = ze - zs;
    zone.present_pages = zpresent;
    auto* pcp = static_cast<PerCpuPages*>(memblock.alloc(ncpu * sizeof(PerCpuPages), 64, nid));
    if (!pcp) return false;
    for (unsigned c = 0; c < ncpu; ++c) new (&pcp[c]) PerCpuPages();
    zone.pcp = pcp;
    zone.nr_pcp = ncpu;
  }
  set_node_data(nid, pg);
  return true;
}

bool build_zonelists(int nid) {
  PgData* pg = NODE_DATA(nid);
  // Node order: by distance from nid, ties by id, nid itself first.
  int order[kMaxNumNodes];
  int n = 0;
  for_each_online_node(other) order[n++] = other;
  for (int i = 1; i < n; ++i) {
    const int v = order[i];
    auto key = [&](int x) { return (x == nid ? 0 : node_distance(nid, x) * kMaxNumNodes + x + 1); };
    int j = i;
    while (j > 0 && key(order[j - 1]) > key(v)) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = v;
  }
  size_t total = 0, local = 0;
  for (int i = 0; i < n; ++i)
    for (const Zone& z : NODE_DATA(order[i])->node_zones)
      if (z.populated()) {
        ++total;
        if (order[i] == nid) ++local;
      }
  auto** all = static_cast<Zone**>(memblock.alloc((total + 1) * sizeof(Zone*), 8, nid));
  auto** mine = static_cast<Zone**>(memblock.alloc((local + 1) * sizeof(Zone*), 8, nid));
  if (!all || !mine) return false;
  size_t a = 0, m = 0;
  for (int i = 0; i < n; ++i) {
    PgData* other = NODE_DATA(order[i]);
    for (int z = MAX_NR_ZONES - 1; z >= 0; --z) {
      Zone& zone = other->node_zones[z];
      if (!zone.populated()) continue;
      all[a++] = &zone;
      if (order[i] == nid) mine[m++] = &zone;
    }
  }
  all[a] = nullptr;
  mine[m] = nullptr;
  pg->zonelist_fallback = Zonelist{all, a};
  pg->zonelist_nofallback = Zonelist{mine, m};
  g_pgdat_fast[nid] = pg;
  g_node_pcp_zone[nid] = m ? mine[0] : nullptr;
  if (nr_online_nodes() > 1) {
    pr_info("Fallback order for Node %d:", nid);
    for (int i = 0; i < n; ++i) printk_raw(" %d", order[i]);
    printk_raw("\n");
  }
  return true;
}

}  // namespace

ZoneType pfn_zone_type(uint64_t pfn) {
  if (pfn < g_zone_limits.dma_end_pfn) return ZONE_DMA;
  if (pfn < g_zone_limits.dma32_end_pfn) return ZONE_DMA32;
  return ZONE_NORMAL;
}

uint64_t zone_type_end_pfn(uint64_t pfn) {
  if (pfn < g_zone_limits.dma_end_pfn) return g_zone_limits.dma_end_pfn;
  if (pfn < g_zone_limits.dma32_end_pfn) return g_zone_limits.dma32_end_pfn;
  return ~uint64_t{0};
}

void zone_limits_init(uint64_t dma_zone_limit) {
  g_zone_limits.dma32_end_pfn = k4GiBPfn;
  // A DMA limit at or above 4 GiB adds nothing DMA32 does not already give.
  g_zone_limits.dma_end_pfn = dma_zone_limit && (dma_zone_limit >> kPageShift) < k4GiBPfn
                                  ? dma_zone_limit >> kPageShift
                                  : 0;
}

uint64_t Zone::pcp_count() const {
  uint64_t n = 0;
  for (unsigned c = 0; c < nr_pcp; ++c)
    n += static_cast<uint64_t>(__atomic_load_n(&pcp[c].count, __ATOMIC_RELAXED));
  return n;
}

bool free_area_init(uint64_t dma_zone_limit) {
  const uint64_t min_pfn = g_page_map.min_pfn, max_pfn = g_page_map.max_pfn;
  zone_limits_init(dma_zone_limit);

  pr_info("Zone ranges:\n");
  for (unsigned z = 0; z < MAX_NR_ZONES; ++z) {
    uint64_t lo, hi;
    zone_pfn_limits(z, &lo, &hi);
    if (lo < min_pfn) lo = min_pfn;
    if (hi > max_pfn) hi = max_pfn;
    if (lo >= hi)
      pr_info("  %-8s empty\n", kZoneNames[z]);
    else
      pr_info("  %-8s [mem %#018llx-%#018llx]\n", kZoneNames[z], pa_of(lo), pa_of(hi) - 1);
  }
  pr_info("Early memory node ranges\n");
  memblock.for_each_mem_region([](const MemblockRegion& r) {
    if (rstart_pfn(r) < rend_pfn(r))
      pr_info("  node %3d: [mem %#018llx-%#018llx]%s\n", rnid(r), pa_of(rstart_pfn(r)),
              pa_of(rend_pfn(r)) - 1, (r.flags & MEMBLOCK_NOMAP) ? " nomap" : "");
  });
  for (int nid = 0; nid < kMaxNumNodes; ++nid) {
    g_pgdat_fast[nid] = nullptr;
    g_node_pcp_zone[nid] = nullptr;
  }
  for_each_online_node(nid) {
    if (!init_node(nid)) {
      pr_err("mm: cannot allocate node %d data\n", nid);
      return false;
    }
  }
  for_each_online_node(nid) {
    if (!build_zonelists(nid)) {
      pr_err("mm: cannot allocate zonelists of node %d\n", nid);
      return false;
    }
  }
  // Every struct page already has its zone (page_map_init stored it, holes
  // included, with the limits of zone_limits_init).
  return true;
}

void zone_pcp_update_all() {
  for_each_populated_zone([](Zone& z) {
    // Linux zone_batchsize(): about a quarter of 1/1024 of the zone, at
    // most 1 MiB worth, rounded to 2^n - 1; high = 6 * batch.
    uint64_t batch = z.managed_pages.load() >> 10;
    if (batch > (uint64_t{1} << 20) / kPageSize) batch = (uint64_t{1} << 20) / kPageSize;
    batch /= 4;
    if (batch < 1) batch = 1;
    uint64_t b = batch + batch / 2;
    uint64_t p2 = 1;
    while (p2 * 2 <= b) p2 *= 2;
    batch = p2 - 1;
    if (batch < 1) batch = 1;
    for (unsigned c = 0; c < z.nr_pcp; ++c) {
      PerCpuPages& pcp = z.pcp[c];
      SpinLockGuard g(pcp.lock);
      pcp.batch = static_cast<int>(batch);
      pcp.high = static_cast<int>(6 * batch);
    }
  });
}

}  // namespace k
