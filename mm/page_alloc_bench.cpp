// Benchmarks of the buddy allocator and its per-CPU lists (issue 8, items
// 1 and 2). Figures are retired instructions per operation (kernel/bench.h).
//
// Target (issue 8): alloc_page + __free_page from the pcp list <= 120.
#include "kernel/bench.h"
#include "lib/format.h"
#include "mm/gfp.h"
#include "mm/page_alloc.h"
#include "mm/zone_lock_stat.h"

namespace k {
namespace {

// One order-`order` allocation and its free; false if the allocator
// refused (the case then fails rather than timing a null path).
bool alloc_free(unsigned order) {
  Page* p = alloc_pages(GFP_KERNEL, order);
  if (!p) return false;
  __free_pages(p, order);
  return true;
}

void bench_order(bench::Context& b, const char* name, unsigned order, uint64_t n) {
  if (!alloc_free(order)) return b.fail("%s: order-%u allocation failed", name, order);
  bool ok = true;
  b.measure(name, b.iters(n), [&] { ok &= alloc_free(order); });
  if (!ok) b.fail("%s: an allocation failed during the run", name);
}

}  // namespace
}  // namespace k

using namespace k;

BENCH(page_alloc) {
  // Warm: the first allocation refills this hart's pcp list.
  bench_order(b, "alloc_page_pcp", 0, 10000);
  bench_order(b, "alloc_pages_order3", 3, 2000);
  bench_order(b, "alloc_pages_order9", 9, 500);

  // The refill path: with the pcp list drained, the next order-0
  // allocation takes the zone lock and moves a batch (rmqueue_bulk).
  bench::Stats s;
  const uint64_t n = b.iters(500);
  for (uint64_t i = 0; i < n; ++i) {
    drain_local_pages(nullptr);
    const uint64_t t0 = bench::Context::now();
    Page* p = alloc_page(GFP_KERNEL);
    s.add(bench::Context::now() - t0);
    if (!p) return b.fail("alloc_page_pcp_refill: allocation failed");
    __free_page(p);
  }
  b.report("alloc_page_pcp_refill", s);
}

namespace {

// Scaling with harts (item 2): each participating hart allocates kBurst
// pages, then frees them, once a round. A burst longer than the pcp high
// mark makes every round refill and drain, so the zone lock is taken at
// the batch rate; the per-CPU lists must keep that rate flat per
// operation as harts are added.
constexpr unsigned kBurst = 1024;

Page* g_burst[bench::kSmpMaxHarts][kBurst];  // off the IPI handler's stack
uint64_t g_locks0;

bool burst_round(void*, unsigned cpu) {
  Page** pages = g_burst[cpu];
  unsigned got = 0;
  for (; got < kBurst; ++got) {
    pages[got] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
    if (!pages[got]) break;
  }
  for (unsigned i = 0; i < got; ++i) __free_page(pages[i]);
  return got == kBurst;
}

void before_point(void*) {
  drain_all_pages(nullptr);
  g_locks0 = zone_lock_acquisitions();
}

void after_point(bench::Context& b, void*, const char* point, uint64_t ops) {
  const uint64_t locks = zone_lock_acquisitions() - g_locks0;
  char name[48];
  snformat(name, sizeof(name), "%s_locks", point);
  b.report_value(name, ops ? locks * 10000 / ops : 0,
                 "zone-lock acquisitions per 1000 alloc+free pairs (%llu in %llu pairs)",
                 static_cast<unsigned long long>(locks), static_cast<unsigned long long>(ops));
}

}  // namespace

BENCH(page_alloc_smp) {
  bench::SmpWork w{"page_alloc_smp", kBurst, burst_round, nullptr, before_point, after_point};
  bench::measure_smp(b, w);
  drain_all_pages(nullptr);
}
