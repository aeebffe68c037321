// Benchmarks of kmalloc and the slab caches (issue 8, item 1): hot (the
// per-CPU object array has an object), cold (the cache was just shrunk, so
// the allocation builds a slab from the page allocator), a private cache,
// kzalloc, and kmalloc(64) on 1/2/4/8 harts at once (item 2).
//
// Target (issue 8): kmalloc(64) + kfree <= 60 instructions.
#include "kernel/bench.h"
#include "lib/format.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"
#include "mm/zone_lock_stat.h"

using namespace k;

namespace {

constexpr size_t kSizes[] = {16, 64, 256, 1024, 4096};

}  // namespace

BENCH(kmalloc) {
  char name[40];
  for (size_t size : kSizes) {
    void* warm = kmalloc(size, GFP_KERNEL);
    if (!warm) return b.fail("kmalloc(%zu) failed", size);
    KmemCache* cache = virt_to_cache(warm);
    kfree(warm);
    if (!cache) return b.fail("kmalloc(%zu): object not in a slab cache", size);

    bool ok = true;
    snformat(name, sizeof(name), "kmalloc_hot_%zu", size);
    b.measure(name, b.iters(10000), [&] {
      void* p = kmalloc(size, GFP_KERNEL);
      ok &= p != nullptr;
      kfree(p);
    });

    // Cold: every sample starts from an empty per-CPU array and no cached
    // slab, like the first allocation after memory pressure shrank it.
    bench::Stats s;
    const uint64_t n = b.iters(200);
    for (uint64_t i = 0; i < n; ++i) {
      kmem_cache_shrink(cache);
      const uint64_t t0 = bench::Context::now();
      void* p = kmalloc(size, GFP_KERNEL);
      kfree(p);
      s.add(bench::Context::now() - t0);
      ok &= p != nullptr;
    }
    snformat(name, sizeof(name), "kmalloc_cold_%zu", size);
    b.report(name, s);
    if (!ok) return b.fail("kmalloc(%zu) failed during the run", size);
  }

  bool ok = true;
  b.measure("kzalloc_64", b.iters(10000), [&] {
    void* p = kzalloc(64, GFP_KERNEL);
    ok &= p != nullptr;
    kfree(p);
  });
  if (!ok) b.fail("kzalloc(64) failed during the run");
}

BENCH(kmem_cache) {
  KmemCache* c = kmem_cache_create("bench-128", 128, 0, 0, nullptr);
  if (!c) return b.fail("kmem_cache_create failed");
  bool ok = true;
  kmem_cache_free(c, kmem_cache_alloc(c, GFP_KERNEL));  // first slab
  b.measure("kmem_cache_alloc_free_128", b.iters(10000), [&] {
    void* p = kmem_cache_alloc(c, GFP_KERNEL);
    ok &= p != nullptr;
    kmem_cache_free(c, p);
  });
  if (!kmem_cache_destroy(c)) b.fail("bench-128: objects left behind");
  if (!ok) b.fail("kmem_cache_alloc failed during the run");
}

namespace {

// Every participating hart keeps kLive objects and replaces them in turn,
// so objects cross the per-CPU array's limit and refills/flushes of the
// shared node lists happen at their natural rate.
constexpr unsigned kLive = 128;

// Acquisitions of the node list locks of the cache kmalloc(64) uses (the
// shared lock behind the per-CPU arrays; lib/spinlock.h CountingSpinLock).
uint64_t kmalloc64_list_locks() {
  void* probe = kmalloc(64, GFP_KERNEL);
  if (!probe) return 0;
  KmemCache* s = slab_cache(obj_to_slab(probe));
  kfree(probe);
  uint64_t sum = 0;
  for (unsigned nid = 0; nid < s->nr_nodes; ++nid)
    sum += get_node(s, nid)->list_lock.acquisitions();
  return sum;
}

uint64_t g_list0, g_zone0;

void before_point(void*) {
  g_list0 = kmalloc64_list_locks();
  g_zone0 = zone_lock_acquisitions();
}

// Lock rates per 1000 pairs: the per-CPU arrays must keep them flat as
// harts are added (issue 8 item 2).
void after_point(bench::Context& b, void*, const char* point, uint64_t ops) {
  const uint64_t zone_locks = zone_lock_acquisitions() - g_zone0;
  // After the probe allocation of kmalloc64_list_locks() (one pair, at
  // most a refill and a flush: noise next to the run's pairs).
  const uint64_t list_locks = kmalloc64_list_locks() - g_list0;
  char name[48];
  snformat(name, sizeof(name), "%s_list_locks", point);
  b.report_value(name, ops ? list_locks * 10000 / ops : 0,
                 "slab node list-lock acquisitions per 1000 kmalloc+kfree pairs (%llu in %llu)",
                 static_cast<unsigned long long>(list_locks), static_cast<unsigned long long>(ops));
  snformat(name, sizeof(name), "%s_zone_locks", point);
  b.report_value(name, ops ? zone_locks * 10000 / ops : 0,
                 "zone-lock acquisitions per 1000 kmalloc+kfree pairs (%llu in %llu)",
                 static_cast<unsigned long long>(zone_locks), static_cast<unsigned long long>(ops));
}

bool kmalloc_round(void*, unsigned) {
  void* live[kLive];
  unsigned got = 0;
  for (; got < kLive; ++got) {
    live[got] = kmalloc(64, GFP_KERNEL | __GFP_NOWARN);
    if (!live[got]) break;
  }
  for (unsigned i = 0; i < got; ++i) kfree(live[i]);
  return got == kLive;
}

}  // namespace

BENCH(kmalloc_smp) {
  bench::SmpWork w{"kmalloc64_smp", kLive, kmalloc_round, nullptr, before_point, after_point};
  bench::measure_smp(b, w);
}
