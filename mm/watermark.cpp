// Watermarks and lowmem_reserve. See watermark.h.
#include "mm/watermark.h"

#include "kernel/printk.h"
#include "lib/types.h"
#include "mm/internal.h"
#include "mm/numa.h"

namespace k {

namespace {

uint64_t g_min_free_kbytes = 1024;
// Linux sysctl_lowmem_reserve_ratio: DMA 256, DMA32 256, Normal 32.
constexpr uint64_t kLowmemReserveRatio[MAX_NR_ZONES] = {256, 256, 32};

uint64_t int_sqrt(uint64_t x) {
  uint64_t r = 0;
  for (uint64_t bit = uint64_t{1} << 62; bit; bit >>= 2) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return r;
}

uint64_t total_managed() {
  uint64_t n = 0;
  for_each_populated_zone([&](Zone& z) { n += z.managed_pages.load(std::memory_order_relaxed); });
  return n;
}

void setup_per_zone_wmarks() {
  const uint64_t pages_min = g_min_free_kbytes >> (kPageShift - 10);
  const uint64_t lowmem = total_managed();
  for_each_zone([&](Zone& z) {
    const uint64_t managed = z.managed_pages.load(std::memory_order_relaxed);
    const uint64_t min = lowmem ? pages_min * managed / lowmem : 0;
    relaxed_store(z.watermark[WMARK_MIN], min);
    relaxed_store(z.watermark[WMARK_LOW], min + min / 4);
    relaxed_store(z.watermark[WMARK_HIGH], min + min / 2);
  });
}

void setup_per_zone_lowmem_reserve() {
  for_each_online_node(nid) {
    PgData* pg = NODE_DATA(nid);
    for (unsigned i = 0; i < MAX_NR_ZONES; ++i) {
      Zone& z = pg->node_zones[i];
      uint64_t above = 0;
      relaxed_store(z.lowmem_reserve[i], uint64_t{0});
      for (unsigned j = i + 1; j < MAX_NR_ZONES; ++j) {
        above += pg->node_zones[j].managed_pages.load(std::memory_order_relaxed);
        const bool clear = !kLowmemReserveRatio[i] || !z.managed();
        relaxed_store(z.lowmem_reserve[j], clear ? 0 : above / kLowmemReserveRatio[i]);
      }
    }
  }
}

void calculate_min_free_kbytes() {
  const uint64_t lowmem_kbytes = total_managed() * (kPageSize >> 10);
  uint64_t v = int_sqrt(lowmem_kbytes * 16);
  if (v < 128) v = 128;
  if (v > 262144) v = 262144;
  g_min_free_kbytes = v;
}

}  // namespace

bool zone_watermark_ok(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx,
                       unsigned alloc_flags) {
  int64_t free_pages = z.nr_free() - ((int64_t{1} << order) - 1);
  int64_t min = static_cast<int64_t>(mark);
  if (alloc_flags & ALLOC_MIN_RESERVE) {
    min -= min / 2;
    if (alloc_flags & ALLOC_NON_BLOCK) min -= min / 4;
  }
  if (free_pages <= min + static_cast<int64_t>(relaxed_load(z.lowmem_reserve[highest_zoneidx])))
    return false;
  if (!order) return true;
  for (unsigned o = order; o < NR_PAGE_ORDERS; ++o)
    if (relaxed_load(z.free_area[o].nr_free)) return true;
  return false;
}

void init_per_zone_wmark_min() {
  calculate_min_free_kbytes();
  setup_per_zone_wmarks();
  setup_per_zone_lowmem_reserve();
}

uint64_t min_free_kbytes() { return g_min_free_kbytes; }

void set_min_free_kbytes(uint64_t kbytes) {
  g_min_free_kbytes = kbytes;
  setup_per_zone_wmarks();
  setup_per_zone_lowmem_reserve();
}

}  // namespace k
