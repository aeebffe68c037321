// /proc-style dumps. See mm_dump.h.
#include "mm/mm_dump.h"

#include "kernel/printk.h"
#include "mm/internal.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"

namespace k {

namespace {

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }
constexpr unsigned kKbPerPage = static_cast<unsigned>(kPageSize >> 10);

uint64_t zone_nr_free(const Zone& z) {
  const int64_t f = z.nr_free();
  return f > 0 ? static_cast<uint64_t>(f) : 0;
}

// Linux totalreserve_pages: what each zone keeps back from ordinary use.
uint64_t totalreserve_pages() {
  uint64_t total = 0;
  for_each_populated_zone([&](Zone& z) {
    uint64_t max = 0;
    for (uint64_t r : z.lowmem_reserve)
      if (r > max) max = r;
    uint64_t v = max + z.wmark(WMARK_HIGH);
    const uint64_t managed = z.managed_pages.load(std::memory_order_relaxed);
    total += v > managed ? managed : v;
  });
  return total;
}

}  // namespace

void show_buddyinfo() {
  for_each_populated_zone([](Zone& z) {
    pr_info("Node %d, zone %8s ", z.node, z.name);
    for (const FreeArea& a : z.free_area) printk_raw("%6llu ", ull(relaxed_load(a.nr_free)));
    printk_raw("\n");
  });
}

void show_zoneinfo() {
  for_each_online_node(nid) {
    for (const Zone& z : NODE_DATA(nid)->node_zones) {
      pr_info("Node %d, zone %8s\n", nid, z.name);
      pr_info("  pages free     %llu\n", ull(zone_nr_free(z)));
      pr_info("        boost    0\n");
      pr_info("        min      %llu\n", ull(z.wmark(WMARK_MIN)));
      pr_info("        low      %llu\n", ull(z.wmark(WMARK_LOW)));
      pr_info("        high     %llu\n", ull(z.wmark(WMARK_HIGH)));
      pr_info("        spanned  %llu\n", ull(z.spanned_pages));
      pr_info("        present  %llu\n", ull(z.present_pages));
      pr_info("        managed  %llu\n", ull(z.managed_pages.load(std::memory_order_relaxed)));
      pr_info("        cma      0\n");
      pr_info("        protection: (");
      for (unsigned j = 0; j < MAX_NR_ZONES; ++j)
        printk_raw("%s%llu", j ? ", " : "", ull(relaxed_load(z.lowmem_reserve[j])));
      printk_raw(")\n");
      if (!z.populated()) continue;
      pr_info("  pagesets\n");
      for (unsigned c = 0; c < z.nr_pcp; ++c) {
        const PerCpuPages& p = z.pcp[c];
        pr_info("    cpu: %u\n", c);
        pr_info("              count: %d\n", relaxed_load(p.count));
        pr_info("              high:  %d\n", relaxed_load(p.high));
        pr_info("              batch: %d\n", relaxed_load(p.batch));
      }
      pr_info("  start_pfn:           %llu\n", ull(z.zone_start_pfn));
    }
  }
}

void show_meminfo() {
  const uint64_t total = totalram_pages();
  const uint64_t free = nr_free_pages();
  const uint64_t reserve = totalreserve_pages();
  const uint64_t avail = free > reserve ? free - reserve : 0;
  pr_info("MemTotal:       %8llu kB\n", ull(total * kKbPerPage));
  pr_info("MemFree:        %8llu kB\n", ull(free * kKbPerPage));
  pr_info("MemAvailable:   %8llu kB\n", ull(avail * kKbPerPage));
}

void show_free_areas() {
  for_each_populated_zone([](Zone& z) {
    pr_info(
        "Node %d %s free:%llukB min:%llukB low:%llukB high:%llukB present:%llukB "
        "managed:%llukB free_pcp:%llukB\n",
        z.node, z.name, ull(zone_nr_free(z) * kKbPerPage), ull(z.wmark(WMARK_MIN) * kKbPerPage),
        ull(z.wmark(WMARK_LOW) * kKbPerPage), ull(z.wmark(WMARK_HIGH) * kKbPerPage),
        ull(z.present_pages * kKbPerPage),
        ull(z.managed_pages.load(std::memory_order_relaxed) * kKbPerPage),
        ull(z.pcp_count() * kKbPerPage));
    pr_info("lowmem_reserve[]:");
    for (uint64_t r : z.lowmem_reserve) printk_raw(" %llu", ull(r));
    printk_raw("\n");
  });
  for_each_populated_zone([](Zone& z) {
    pr_info("Node %d %s:", z.node, z.name);
    uint64_t total = 0;
    for (unsigned o = 0; o < NR_PAGE_ORDERS; ++o) {
      const uint64_t n = relaxed_load(z.free_area[o].nr_free);
      printk_raw(" %llu*%llukB", ull(n), ull(uint64_t{kKbPerPage} << o));
      total += n << o;
    }
    printk_raw(" = %llukB\n", ull(total * kKbPerPage));
  });
}

}  // namespace k
