// Slab statistics: /proc/slabinfo and the counters the self-test runner
// compares before and after every suite.
#include <cstdint>

#include "kernel/printk.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"

namespace k {

namespace {

struct CacheStats {
  uint64_t active_objs = 0;   // handed to callers
  uint64_t num_objs = 0;      // in all slabs
  uint64_t active_slabs = 0;  // partial + full
  uint64_t num_slabs = 0;
  uint64_t cpu_objs = 0;  // parked in per-CPU arrays
};

CacheStats cache_stats(KmemCache* s) {
  CacheStats st;
  uint64_t inuse = 0;
  for (unsigned nid = 0; nid < s->nr_nodes; ++nid) {
    KmemCacheNode* n = get_node(s, static_cast<int>(nid));
    IrqSpinLockGuard g(n->list_lock);
    inuse += n->inuse_objects;
    st.num_objs += n->total_objects;
    st.active_slabs += n->nr_partial + n->nr_full;
    st.num_slabs += n->nr_partial + n->nr_full + n->nr_empty;
  }
  for (unsigned cpu = 0; cpu < s->nr_cpus && s->limit; ++cpu) {
    IrqSpinLockGuard g(s->cpu[cpu].lock);
    st.cpu_objs += s->cpu[cpu].avail;
  }
  st.active_objs = inuse - st.cpu_objs;
  return st;
}

template <typename F>
void for_each_cache(F f) {
  IrqSpinLockGuard g(g_slab_lock);
  g_slab_caches.for_each([&](ListNode* n) { f(cache_from_list(n)); });
}

}  // namespace

void slabinfo_dump() {
  // Linux mm/slab_common.c print_slabinfo_header(), version 2.1.
  pr_info("slabinfo - version: 2.1\n");
  pr_info(
      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
      "<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
  for_each_cache([](KmemCache* s) {
    const CacheStats st = cache_stats(s);
    pr_info("%-17s %6llu %6llu %6u %4u %4u : tunables %4u %4u %4u : slabdata %6llu %6llu %6u\n",
            s->name, static_cast<unsigned long long>(st.active_objs),
            static_cast<unsigned long long>(st.num_objs), s->size, s->objects, 1u << s->order,
            s->limit, s->batch, 0u, static_cast<unsigned long long>(st.active_slabs),
            static_cast<unsigned long long>(st.num_slabs), 0u);
  });
  pr_info("kmalloc large allocations: %llu pages\n",
          static_cast<unsigned long long>(kmalloc_large_pages()));
}

uint64_t slab_nr_objects() {
  uint64_t total = 0;
  for_each_cache([&](KmemCache* s) { total += cache_stats(s).active_objs; });
  return total;
}

uint64_t slab_nr_pages() {
  uint64_t pages = 0;
  for_each_cache([&](KmemCache* s) { pages += cache_stats(s).num_slabs << s->order; });
  return pages;
}

uint64_t slab_nr_pages_shrunk() {
  // Shrinking cannot run under g_slab_lock (it frees pages); caches are not
  // destroyed while the self-test runner samples counters, so walking the
  // list unlocked between the lock-held snapshots is safe here.
  KmemCache* caches[256];
  unsigned n = 0;
  for_each_cache([&](KmemCache* s) {
    if (n < 256) caches[n++] = s;
  });
  for (unsigned i = 0; i < n; ++i) kmem_cache_shrink(caches[i]);
  return slab_nr_pages();
}

}  // namespace k
