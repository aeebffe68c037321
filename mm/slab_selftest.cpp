// On-target self-tests of the slab allocator (suite `slab`): the host
// tests' behaviours on real memory, all harts at once, and the
// kmem_cache_alloc+free instruction count. Also registers the slab leak
// counters every suite is checked against.
#include <arch/cpu.h>

#include <atomic>
#include <cstring>

#include "arch/riscv/kernel/smp.h"
#include "kernel/selftest.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"

namespace k {
namespace {

uint64_t counter_slab_objects() { return slab_nr_objects(); }
SELFTEST_COUNTER(slab_objects, counter_slab_objects);
// slab_pages (which shrinks every cache) is registered in
// kmalloc_selftest.cpp, which links before page_alloc_selftest.cpp.

uint64_t settled_free_pages() {
  slab_nr_pages_shrunk();
  drain_all_pages(nullptr);
  return nr_free_pages();
}

}  // namespace

SELFTEST(slab, alloc_free_keeps_alignment_and_contents) {
  KmemCache* c = kmem_cache_create("st_align", 200, 64, 0, nullptr);
  KASSERT(c != nullptr);
  constexpr int kN = 500;
  static uint8_t* objs[kN];
  for (int i = 0; i < kN; ++i) {
    objs[i] = static_cast<uint8_t*>(kmem_cache_alloc(c, GFP_KERNEL));
    KASSERT(objs[i] != nullptr);
    KEXPECT_EQ(reinterpret_cast<uintptr_t>(objs[i]) % 64, 0u);
    std::memset(objs[i], i & 0xff, 200);
  }
  for (int i = 0; i < kN; ++i) {
    for (int b = 0; b < 200; ++b)
      if (objs[i][b] != (i & 0xff)) {
        KEXPECT(objs[i][b] == (i & 0xff));
        break;
      }
    kmem_cache_free(c, objs[i]);
  }
  KEXPECT(kmem_cache_destroy(c));
}

SELFTEST(slab, red_zone_overwrite_is_one_report) {
  KmemCache* c = kmem_cache_create("st_redzone", 64, 0, SLAB_RED_ZONE | SLAB_POISON, nullptr);
  KASSERT(c != nullptr);
  const uint64_t r0 = slab_nr_reports();
  auto* p = static_cast<uint8_t*>(kmem_cache_alloc(c, GFP_KERNEL));
  p[64] = 0x12;
  kmem_cache_free(c, p);
  KEXPECT_EQ(slab_nr_reports() - r0, 1u);
  KEXPECT_EQ(kmem_cache_validate(c), 0u);
  KEXPECT(kmem_cache_destroy(c));
}

SELFTEST(slab, write_after_free_is_one_poison_report) {
  KmemCache* c = kmem_cache_create("st_poison", 96, 0, SLAB_POISON, nullptr);
  KASSERT(c != nullptr);
  const uint64_t r0 = slab_nr_reports();
  auto* p = static_cast<uint8_t*>(kmem_cache_alloc(c, GFP_KERNEL));
  kmem_cache_free(c, p);
  KEXPECT_EQ(p[0], POISON_FREE);
  p[5] = 0;
  KEXPECT_EQ(kmem_cache_validate(c), 1u);
  KEXPECT_EQ(slab_nr_reports() - r0, 1u);
  KEXPECT(kmem_cache_destroy(c));
}

SELFTEST(slab, double_and_foreign_frees_are_refused) {
  KmemCache* a = kmem_cache_create("st_a", 64, 0, SLAB_CONSISTENCY_CHECKS, nullptr);
  KmemCache* b = kmem_cache_create("st_b", 64, 0, 0, nullptr);
  KASSERT(a && b);
  const uint64_t r0 = slab_nr_reports();
  void* x = kmem_cache_alloc(a, GFP_KERNEL);
  void* y = kmem_cache_alloc(a, GFP_KERNEL);
  kmem_cache_free(a, x);
  kmem_cache_free(a, x);  // double free
  KEXPECT_EQ(slab_nr_reports() - r0, 1u);
  kmem_cache_free(b, y);  // wrong cache
  KEXPECT_EQ(slab_nr_reports() - r0, 2u);
  static int not_slab;
  kmem_cache_free(a, &not_slab);  // kernel image, not slab memory
  KEXPECT_EQ(slab_nr_reports() - r0, 3u);
  void* u = kmem_cache_alloc(a, GFP_KERNEL);
  void* v = kmem_cache_alloc(a, GFP_KERNEL);
  KEXPECT(u != v);
  kmem_cache_free(a, u);
  kmem_cache_free(a, v);
  kmem_cache_free(a, y);
  KEXPECT(kmem_cache_destroy(a));
  KEXPECT(kmem_cache_destroy(b));
}

SELFTEST(slab, destroy_refuses_while_objects_are_live) {
  KmemCache* c = kmem_cache_create("st_busy", 128, 0, 0, nullptr);
  KASSERT(c != nullptr);
  void* o = kmem_cache_alloc(c, GFP_KERNEL);
  KEXPECT(!kmem_cache_destroy(c));
  kmem_cache_free(c, o);
  KEXPECT(kmem_cache_destroy(c));
}

SELFTEST(slab, shrink_gives_pages_back_to_the_buddy_allocator) {
  const uint64_t before = settled_free_pages();
  KmemCache* c = kmem_cache_create("st_shrink", 512, 0, 0, nullptr);
  KASSERT(c != nullptr);
  constexpr int kN = 2000;
  static void* objs[kN];
  for (void*& o : objs) o = kmem_cache_alloc(c, GFP_KERNEL);
  KEXPECT(slab_nr_pages() >= kN * 512 / kPageSize);
  for (void* o : objs) kmem_cache_free(c, o);
  KEXPECT(kmem_cache_shrink(c) > 0);
  KEXPECT(kmem_cache_destroy(c));
  KEXPECT_EQ(settled_free_pages(), before);
}

namespace {

struct SmpArg {
  KmemCache* cache;
  std::atomic<unsigned> errors{0};
  std::atomic<unsigned> cpus{0};
};

// Runs on every hart at once: a stack of live objects with a per-object
// signature, checked before each free.
void smp_worker(void* p) {
  auto* arg = static_cast<SmpArg*>(p);
  arg->cpus.fetch_add(1);
  constexpr int kLive = 64;
  uint64_t* live[kLive];
  int n = 0;
  uint32_t x = 2463534242u ^ arch::this_cpu();
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    if (n < kLive && (n == 0 || (x & 1))) {
      auto* o = static_cast<uint64_t*>(kmem_cache_alloc(arg->cache, GFP_ATOMIC));
      if (!o) {
        arg->errors.fetch_add(1);
        break;
      }
      o[0] = reinterpret_cast<uintptr_t>(o);
      o[7] = ~reinterpret_cast<uintptr_t>(o);
      live[n++] = o;
    } else {
      uint64_t* o = live[--n];
      if (o[0] != reinterpret_cast<uintptr_t>(o) || o[7] != ~reinterpret_cast<uintptr_t>(o))
        arg->errors.fetch_add(1);
      kmem_cache_free(arg->cache, o);
    }
  }
  while (n) kmem_cache_free(arg->cache, live[--n]);
}

}  // namespace

SELFTEST(slab, all_harts_allocate_and_free_at_once) {
  SmpArg arg;
  arg.cache = kmem_cache_create("st_smp", 64, 0, 0, nullptr);
  KASSERT(arg.cache != nullptr);
  const unsigned ran = arch::smp_call_all_concurrently(smp_worker, &arg);
  KEXPECT_EQ(ran, arch::nr_online_cpus());
  KEXPECT_EQ(arg.cpus.load(), ran);
  KEXPECT_EQ(arg.errors.load(), 0u);
  t.diag("%u harts x 20000 operations", ran);
  KEXPECT(kmem_cache_destroy(arg.cache));
}

SELFTEST(slab, bench_kmem_cache_alloc_free) {
  KmemCache* c = kmem_cache_create("st_bench", 64, 0, 0, nullptr);
  KASSERT(c != nullptr);
  kmem_cache_free(c, kmem_cache_alloc(c, GFP_KERNEL));  // warm the CPU array
  constexpr uint64_t kIters = 10000;
  const uint64_t i0 = arch::read_instret();
  for (uint64_t i = 0; i < kIters; ++i) kmem_cache_free(c, kmem_cache_alloc(c, GFP_KERNEL));
  const uint64_t i1 = arch::read_instret();
  t.diag("kmem_cache_alloc+kmem_cache_free(64 bytes): %llu instructions per pair",
         static_cast<unsigned long long>((i1 - i0) / kIters));
  KEXPECT(kmem_cache_destroy(c));
}

}  // namespace k

// ---- freelist hardening (issue 9 item 4) ----

namespace k {
namespace {

// A fresh cache whose first allocation leaves part of one slab on the
// slab's freelist: returns that allocation and the slab.
struct FreshSlab {
  KmemCache* cache;
  void* first;
  Page* slab;
};

FreshSlab fresh_slab(const char* name) {
  FreshSlab f{kmem_cache_create(name, 64, 0, SLAB_NO_DEBUG, nullptr), nullptr, nullptr};
  if (!f.cache) return f;
  f.first = kmem_cache_alloc(f.cache, GFP_KERNEL);
  if (f.first) f.slab = obj_to_slab(f.first);
  return f;
}

}  // namespace

SELFTEST(slab, freelist_pointers_are_stored_encoded) {
  FreshSlab f = fresh_slab("st_encoded");
  KASSERT(f.cache && f.first && f.slab);
  void* head = f.slab->slab.freelist;
  KASSERT(head != nullptr);  // batch < objects: the slab keeps free objects
  const uint64_t raw = *reinterpret_cast<uint64_t*>(static_cast<char*>(head) + f.cache->offset);
  void* next = get_freepointer(f.cache, head);
  // The decoded pointer is the next free object of the same slab (or the end).
  KEXPECT(next == nullptr || slab_valid_object(f.cache, f.slab, next));
  if (slab_hardened()) {
    KEXPECT(f.cache->random != 0);
    KEXPECT(raw != reinterpret_cast<uintptr_t>(next));
  } else {
    KEXPECT_EQ(raw, reinterpret_cast<uintptr_t>(next));
  }
  kmem_cache_free(f.cache, f.first);
  KEXPECT(kmem_cache_destroy(f.cache));
}

SELFTEST(slab, corrupt_free_pointer_is_reported_and_not_followed) {
  if (!slab_hardened()) return t.skip("slab_harden=0");
  FreshSlab f = fresh_slab("st_corrupt");
  KASSERT(f.cache && f.first && f.slab);
  void* victim = f.slab->slab.freelist;
  KASSERT(victim != nullptr);
  // An overflow or use-after-free write plants a plain pointer (here: to a
  // kernel-image variable) where the victim keeps its next free object.
  static uint64_t target;
  *reinterpret_cast<uint64_t*>(static_cast<char*>(victim) + f.cache->offset) =
      reinterpret_cast<uintptr_t>(&target);
  const uint64_t r0 = slab_nr_reports();
  // Drain the CPU array back to the slab, then take every object of it:
  // the allocator must decode the planted pointer, refuse it and go on.
  kmem_cache_shrink(f.cache);
  const unsigned n = f.cache->objects;
  static void* objs[4096];
  KASSERT(n <= 4096);
  unsigned got = 0;
  for (; got < n; ++got) {
    objs[got] = kmem_cache_alloc(f.cache, GFP_KERNEL);
    if (!objs[got] || objs[got] == &target) break;
  }
  KEXPECT_EQ(got, n);                      // kept allocating (from a new slab)
  KEXPECT_EQ(slab_nr_reports() - r0, 1u);  // "Freepointer corrupt", once
  KEXPECT(f.slab->slab.dropped > 0);       // the rest of that freelist is out of use
  for (unsigned i = 0; i < got; ++i) kmem_cache_free(f.cache, objs[i]);
  kmem_cache_free(f.cache, f.first);
  // Every object handed out came back: the slab is empty and freed again.
  KEXPECT(kmem_cache_destroy(f.cache));
}

SELFTEST(slab, double_free_is_refused_without_slab_debug) {
  KmemCache* c = kmem_cache_create("st_dfree", 64, 0, SLAB_NO_DEBUG, nullptr);
  KASSERT(c != nullptr);
  KASSERT(!(kmem_cache_flags(c) & SLAB_DEBUG_FLAGS));
  const uint64_t r0 = slab_nr_reports();
  void* x = kmem_cache_alloc(c, GFP_KERNEL);
  void* y = kmem_cache_alloc(c, GFP_KERNEL);
  KASSERT(x && y);
  kmem_cache_free(c, x);
  kmem_cache_free(c, x);  // the CPU array's top: refused at once
  KEXPECT_EQ(slab_nr_reports() - r0, 1u);
  // x back on its slab's freelist as the head, then freed again: the
  // flush that returns it to the slab refuses it.
  kmem_cache_shrink(c);
  KEXPECT(obj_to_slab(y)->slab.freelist == x);
  kmem_cache_free(c, x);
  kmem_cache_shrink(c);
  KEXPECT_EQ(slab_nr_reports() - r0, 2u);
  // Nothing was corrupted: two allocations are distinct, all frees balance.
  void* u = kmem_cache_alloc(c, GFP_KERNEL);
  void* v = kmem_cache_alloc(c, GFP_KERNEL);
  KEXPECT(u && v && u != v);
  kmem_cache_free(c, u);
  kmem_cache_free(c, v);
  kmem_cache_free(c, y);
  KEXPECT(kmem_cache_destroy(c));
}

}  // namespace k
