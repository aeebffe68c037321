// Benchmarks of the buddy allocator and its per-CPU lists (issue 8, items
// 1 and 2). Figures are retired instructions per operation (kernel/bench.h).
//
// Target (issue 8): alloc_page + __free_page from the pcp list <= 120.
#include <arch/cpu.h>

#include <atomic>

#include "arch/riscv/kernel/smp.h"
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
// pages, then frees them, kRounds times. A burst longer than the pcp high
// mark makes every round refill and drain, so the zone lock is taken at
// the batch rate; the per-CPU lists must keep that rate flat per
// operation as harts are added.
constexpr unsigned kBurst = 1024;
constexpr unsigned kMaxHarts = 8;

struct SmpRun {
  unsigned harts;
  uint64_t rounds;
  std::atomic<uint64_t> instret[kMaxHarts];
  std::atomic<uint64_t> ops;
  std::atomic<unsigned> finished;
  std::atomic<bool> failed;
};

Page* g_burst[kMaxHarts][kBurst];  // off the IPI handler's stack

void smp_worker(void* arg) {
  auto* run = static_cast<SmpRun*>(arg);
  const unsigned cpu = arch::this_cpu();
  if (cpu >= run->harts) return;
  Page** pages = g_burst[cpu];
  const uint64_t t0 = bench::Context::now();
  uint64_t ops = 0;
  for (uint64_t r = 0; r < run->rounds; ++r) {
    unsigned got = 0;
    for (; got < kBurst; ++got) {
      pages[got] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
      if (!pages[got]) break;
    }
    for (unsigned i = 0; i < got; ++i) __free_page(pages[i]);
    if (got != kBurst) run->failed.store(true);
    ops += got;
  }
  run->instret[cpu].store(bench::Context::now() - t0);
  run->ops.fetch_add(ops);
  run->finished.fetch_add(1, std::memory_order_release);
}

}  // namespace

BENCH(page_alloc_smp) {
  const unsigned online = arch::nr_online_cpus();
  static constexpr unsigned kHarts[] = {1, 2, 4, kMaxHarts};
  for (unsigned harts : kHarts) {
    if (harts > online) {
      b.diag("page_alloc_smp: %u harts online, %u-hart point not measured", online, harts);
      break;
    }
    static SmpRun run;
    run.harts = harts;
    run.rounds = b.iters(16);
    run.ops.store(0);
    run.finished.store(0);
    run.failed.store(false);
    for (auto& c : run.instret) c.store(0);
    drain_all_pages(nullptr);
    const uint64_t locks0 = zone_lock_acquisitions();
    const uint64_t t0 = bench::Context::now();
    arch::smp_call_all_concurrently(smp_worker, &run);
    // The cross-call gives up waiting after 10 s of (virtual) time; the
    // workers are still running then, so wait for every one.
    while (run.finished.load(std::memory_order_acquire) < harts) arch::cpu_relax();
    const uint64_t wall = bench::Context::now() - t0;
    const uint64_t locks = zone_lock_acquisitions() - locks0;
    if (run.failed.load()) return b.fail("page_alloc_smp: allocation failed with %u harts", harts);
    // Per-hart samples: each hart's own instructions per alloc+free pair.
    // Under QEMU -icount every hart's counter advances with the one
    // virtual clock, so the figure of record is `wall` over all pairs
    // (instructions of the whole machine per pair, spinning included).
    bench::Stats per_hart;
    const uint64_t per_hart_ops = run.rounds * kBurst;
    for (unsigned c = 0; c < harts; ++c) per_hart.add(run.instret[c].load() / per_hart_ops);
    char name[40];
    snformat(name, sizeof(name), "page_alloc_smp_%uh", harts);
    bench::Stats all;
    all.batched = true;  // one timed region: min/max are the per-hart figures
    all.total = wall;
    all.n = run.ops.load();
    all.min = per_hart.min;
    all.max = per_hart.max;
    b.report(name, all);
    snformat(name, sizeof(name), "page_alloc_smp_%uh_locks", harts);
    b.report_value(name, run.ops.load() ? locks * 10000 / run.ops.load() : 0,
                   "zone-lock acquisitions per 1000 alloc+free pairs (%llu in %llu pairs)",
                   static_cast<unsigned long long>(locks),
                   static_cast<unsigned long long>(run.ops.load()));
  }
  drain_all_pages(nullptr);
}
