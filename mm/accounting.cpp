// Page accounting per zone and category. See accounting.h.
#include "mm/accounting.h"

#include <arch/memory.h>

#include <cstdarg>

#include "kernel/printk.h"
#include "lib/format.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace k {

namespace {

constexpr unsigned kNrCategories = MM_LAST_CATEGORY - MM_FIRST_CATEGORY + 1;

// Indexed [nid][zone][category - MM_FIRST_CATEGORY].
std::atomic<int64_t> g_pages[kMaxNumNodes][MAX_NR_ZONES][kNrCategories];

const char* const kNames[MM_NR_ACCT] = {
    "free",   "pcp", "slab", "kmalloc_large", "pgtable",  "vmalloc",
    "kstack", "dma", "user", "other",         "reserved", "kernel_image",
};
// Short column headers for the table.
const char* const kHeaders[MM_NR_ACCT] = {"free",   "pcp", "slab", "kmlarge", "pgtable",  "vmalloc",
                                          "kstack", "dma", "user", "other",   "reserved", "image"};

bool is_category(unsigned c) { return c >= MM_FIRST_CATEGORY && c <= MM_LAST_CATEGORY; }

std::atomic<int64_t>& counter(unsigned nid, unsigned zone, unsigned c) {
  return g_pages[nid][zone][c - MM_FIRST_CATEGORY];
}

void report(MmReportFn sink, void* ctx, const char* fmt, ...) {
  char buf[200];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (sink)
    sink(ctx, buf);
  else
    pr_err("mm accounting: %s\n", buf);
}

// PG_reserved pages of the kernel image in zone z (the init sections
// become free pages after boot and leave this column).
uint64_t image_pages_in(const Zone& z) {
  const uint64_t start = arch::g_layout.kernel_phys >> kPageShift;
  const uint64_t end =
      (arch::g_layout.kernel_phys + arch::g_layout.kernel_size + kPageSize - 1) >> kPageShift;
  uint64_t n = 0;
  for (uint64_t pfn = start; pfn < end; ++pfn) {
    if (!z.spans_pfn(pfn)) continue;
    const Page* p = pfn_to_page(Pfn(pfn));
    if (p && p->reserved() && p->nid == z.node && p->zone_idx == z.idx) ++n;
  }
  return n;
}

void fill_zone(const Zone& z, int64_t* row) {
  const auto managed = static_cast<int64_t>(z.managed_pages.load(std::memory_order_relaxed));
  const auto present = static_cast<int64_t>(z.present_pages);
  row[MM_PCP] = static_cast<int64_t>(z.pcp_count());
  row[MM_FREE] = z.nr_free();
  int64_t allocated = managed - row[MM_FREE] - row[MM_PCP];
  for (unsigned c = MM_FIRST_CATEGORY; c <= MM_LAST_CATEGORY; ++c) {
    row[c] = counter(z.node, z.idx, c).load(std::memory_order_relaxed);
    allocated -= row[c];
  }
  row[MM_OTHER] = allocated;
  row[MM_KERNEL_IMAGE] = static_cast<int64_t>(image_pages_in(z));
  row[MM_RESERVED] = present - managed - row[MM_KERNEL_IMAGE];
}

// What the struct pages of zone z say (independent of the counters).
struct WalkCounts {
  int64_t buddy = 0, pcp = 0, slab = 0, reserved = 0;
};
WalkCounts walk_zone(const Zone& z) {
  WalkCounts w;
  for (uint64_t pfn = z.zone_start_pfn; pfn < z.zone_end_pfn(); ++pfn) {
    const Page* p = pfn_to_page(Pfn(pfn));
    if (!p || p->nid != z.node || p->zone_idx != z.idx) continue;
    const uint32_t f = p->flags.load(std::memory_order_relaxed);
    if (f & Page::bit(PageFlag::kBuddy)) w.buddy += int64_t{1} << p->order;
    if (f & Page::bit(PageFlag::kPcp)) ++w.pcp;
    if (f & Page::bit(PageFlag::kSlab)) w.slab += int64_t{1} << p->order;
    if (f & Page::bit(PageFlag::kReserved)) ++w.reserved;
  }
  return w;
}

bool check_zone(const Zone& z, const int64_t* row, MmReportFn sink, void* ctx) {
  bool ok = true;
  for (unsigned c = 0; c < MM_NR_ACCT; ++c) {
    if (row[c] >= 0) continue;
    report(sink, ctx, "zone %s node %u: %s is negative (%lld pages)", z.name, z.node, kNames[c],
           static_cast<long long>(row[c]));
    ok = false;
  }
  const WalkCounts w = walk_zone(z);
  const struct {
    const char* what;
    int64_t walked, counted;
  } pairs[] = {
      {"free (PG_buddy blocks)", w.buddy, row[MM_FREE]},
      {"pcp (PG_pcp pages)", w.pcp, row[MM_PCP]},
      {"slab (PG_slab blocks)", w.slab, row[MM_SLAB]},
      {"reserved+kernel_image (PG_reserved pages)", w.reserved,
       row[MM_RESERVED] + row[MM_KERNEL_IMAGE]},
  };
  for (const auto& p : pairs) {
    if (p.walked == p.counted) continue;
    report(sink, ctx, "zone %s node %u: %s: page walk finds %lld, counters say %lld", z.name,
           z.node, p.what, static_cast<long long>(p.walked), static_cast<long long>(p.counted));
    ok = false;
  }
  return ok;
}

}  // namespace

const char* mm_acct_name(unsigned acct) { return acct < MM_NR_ACCT ? kNames[acct] : "?"; }

void account_pages(MmAcct category, const Page* page, unsigned order, int sign) {
  if (!page || !is_category(category) || page->nid >= kMaxNumNodes ||
      page->zone_idx >= MAX_NR_ZONES)
    return;
  const int64_t n = int64_t{1} << order;
  counter(page->nid, page->zone_idx, category)
      .fetch_add(sign < 0 ? -n : n, std::memory_order_relaxed);
}

void reaccount_pages(MmAcct from, MmAcct to, const Page* page, unsigned order) {
  account_pages(from, page, order, -1);
  account_pages(to, page, order, +1);
}

void put_accounted_page(MmAcct category, Page* page) {
  // Not the last reference: the page stays where it is counted. A racing
  // put that loses the exchange re-reads 1 and is the one that frees.
  int32_t ref = page->refcount.load(std::memory_order_relaxed);
  while (ref > 1)
    if (page->refcount.compare_exchange_weak(ref, ref - 1, std::memory_order_acq_rel)) return;
  account_pages(category, page, 0, -1);
  __free_pages(page, 0);
}

int64_t mm_category_pages(MmAcct category, int nid, int zone) {
  if (!is_category(category)) return 0;
  int64_t n = 0;
  for (int i = 0; i < kMaxNumNodes; ++i) {
    if (nid >= 0 && i != nid) continue;
    for (unsigned zi = 0; zi < MAX_NR_ZONES; ++zi)
      if (zone < 0 || static_cast<unsigned>(zone) == zi)
        n += counter(i, zi, category).load(std::memory_order_relaxed);
  }
  return n;
}

void mm_accounting_snapshot(MmAccountingSnapshot* out) {
  for (auto& node : out->v)
    for (auto& row : node)
      for (int64_t& x : row) x = 0;
  for_each_populated_zone([&](Zone& z) { fill_zone(z, out->v[z.node][z.idx]); });
  out->valid = true;
}

bool mm_accounting_check(MmReportFn sink, void* ctx) {
  bool ok = true;
  for_each_populated_zone([&](Zone& z) {
    int64_t row[MM_NR_ACCT];
    fill_zone(z, row);
    if (!check_zone(z, row, sink, ctx)) ok = false;
  });
  return ok;
}

bool mm_accounting_verify(const MmAccountingSnapshot& before, MmReportFn sink, void* ctx) {
  if (!before.valid) {
    report(sink, ctx, "no snapshot to compare with");
    return false;
  }
  bool ok = true;
  for_each_populated_zone([&](Zone& z) {
    int64_t now[MM_NR_ACCT];
    fill_zone(z, now);
    if (!check_zone(z, now, sink, ctx)) ok = false;
    const int64_t* was = before.v[z.node][z.idx];
    for (unsigned c = 0; c < MM_NR_ACCT; ++c) {
      if (c == MM_PCP) continue;  // compared inside free+pcp
      int64_t a = was[c], b = now[c];
      if (c == MM_FREE) {
        a += was[MM_PCP];
        b += now[MM_PCP];
      }
      if (a == b) continue;
      report(sink, ctx, "zone %s node %u: %s %lld -> %lld (%+lld pages)", z.name, z.node,
             c == MM_FREE ? "free+pcp" : kNames[c], static_cast<long long>(a),
             static_cast<long long>(b), static_cast<long long>(b - a));
      ok = false;
    }
  });
  return ok;
}

void mm_accounting_show() {
  printk_raw("node zone    %8s", "present");
  for (unsigned c = 0; c < MM_NR_ACCT; ++c) printk_raw(" %8s", kHeaders[c]);
  printk_raw(" %8s\n", "sum");
  int64_t total[MM_NR_ACCT] = {};
  int64_t total_present = 0, total_sum = 0;
  for_each_populated_zone([&](Zone& z) {
    int64_t row[MM_NR_ACCT];
    fill_zone(z, row);
    int64_t sum = 0;
    printk_raw("%4u %-7s %8llu", z.node, z.name, static_cast<unsigned long long>(z.present_pages));
    for (unsigned c = 0; c < MM_NR_ACCT; ++c) {
      printk_raw(" %8lld", static_cast<long long>(row[c]));
      sum += row[c];
      total[c] += row[c];
    }
    printk_raw(" %8lld%s\n", static_cast<long long>(sum),
               sum == static_cast<int64_t>(z.present_pages) ? "" : " MISMATCH");
    total_present += static_cast<int64_t>(z.present_pages);
    total_sum += sum;
  });
  printk_raw("all  %-7s %8lld", "", static_cast<long long>(total_present));
  for (unsigned c = 0; c < MM_NR_ACCT; ++c) printk_raw(" %8lld", static_cast<long long>(total[c]));
  printk_raw(" %8lld\n", static_cast<long long>(total_sum));
  printk_raw("(pages of 4 KiB; free excludes pcp; other = allocated without a category)\n");
}

}  // namespace k
