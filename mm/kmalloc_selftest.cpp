// On-target self-tests of kmalloc (suite `kmalloc`), with the kmalloc(64)+
// kfree instruction count.
#include <arch/cpu.h>
#include <arch/memory.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "arch/riscv/kernel/smp.h"
#include "arch/riscv/kernel/trap.h"
#include "kernel/selftest.h"
#include "mm/kfence.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/slab.h"
#include "mm/vmalloc.h"

namespace k {
namespace {

// Counters are sampled in link order (file name order). This one shrinks
// every slab cache, returning cached empty slabs and per-CPU objects to the
// buddy allocator, so it must come before page_alloc_selftest.cpp's
// nr_free_pages: that count then compares like with like.
uint64_t counter_slab_pages() { return slab_nr_pages_shrunk(); }
SELFTEST_COUNTER(slab_pages, counter_slab_pages);

uint64_t counter_kmalloc_large_pages() { return kmalloc_large_pages(); }
SELFTEST_COUNTER(kmalloc_large_pages, counter_kmalloc_large_pages);

}  // namespace

SELFTEST(kmalloc, size_classes_and_natural_alignment) {
  for (size_t size = 1; size <= KMALLOC_MAX_CACHE_SIZE; size += size < 256 ? 1 : 61) {
    void* p = kmalloc(size, GFP_KERNEL);
    KASSERT(p != nullptr);
    const size_t cls = kmalloc_class_size(kmalloc_index(size));
    // A KFENCE sample (mm/kfence.h) is usable for exactly the size asked.
    const size_t usable = is_kfence_address(p) ? size : cls;
    KEXPECT(ksize(p) == usable && cls >= size);
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    KEXPECT(a % 8 == 0);
    if (is_pow2(cls)) KEXPECT(a % cls == 0);
    std::memset(p, 0x5c, usable);
    kfree(p);
  }
}

SELFTEST(kmalloc, overflow_and_zero_size) {
  KEXPECT(kmalloc_array(SIZE_MAX / 2 + 1, 2, GFP_KERNEL) == nullptr);
  KEXPECT(kcalloc(SIZE_MAX / 4, 8, GFP_KERNEL) == nullptr);
  void* z = kmalloc(0, GFP_KERNEL);
  KEXPECT(z == ZERO_SIZE_PTR);
  KEXPECT(z != nullptr);
  // Page 0 is unmapped: touching the sentinel faults.
  KEXPECT(arch::probe_read(z));
  KEXPECT(arch::probe_write(z));
  kfree(z);
  kfree(nullptr);
}

SELFTEST(kmalloc, large_allocations_are_compound_pages) {
  const uint64_t free0 = nr_free_pages();
  auto* p = static_cast<uint8_t*>(kzalloc(100000, GFP_KERNEL));
  KASSERT(p != nullptr);
  KEXPECT_EQ(ksize(p), 131072u);
  KEXPECT(virt_to_page(p)->head());
  KEXPECT(virt_to_page(p + 99999)->tail());
  KEXPECT(p[0] == 0 && p[99999] == 0);
  KEXPECT_EQ(kmalloc_large_pages(), 32u);
  kfree(p);
  KEXPECT_EQ(kmalloc_large_pages(), 0u);
  drain_all_pages(nullptr);
  KEXPECT_EQ(nr_free_pages(), free0);
}

SELFTEST(kmalloc, krealloc_keeps_contents) {
  auto* p = static_cast<uint8_t*>(kmalloc(24, GFP_KERNEL));
  KASSERT(p != nullptr);
  for (int i = 0; i < 24; ++i) p[i] = static_cast<uint8_t>(i);
  auto* q = static_cast<uint8_t*>(krealloc(p, 5000, GFP_KERNEL));
  KASSERT(q != nullptr);
  bool same = true;
  for (int i = 0; i < 24; ++i) same &= q[i] == i;
  KEXPECT(same);
  KEXPECT(krealloc(q, 100, GFP_KERNEL) == q);
  KEXPECT(krealloc(q, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
}

SELFTEST(kmalloc, dma_caches_stay_in_their_zones) {
  void* d32 = kmalloc(300, GFP_KERNEL | GFP_DMA32);
  void* dma = kmalloc(300, GFP_KERNEL | GFP_DMA);
  KASSERT(d32 && dma);
  KEXPECT(arch::virt_to_phys(d32).value() < (uint64_t{1} << 32));
  KEXPECT(arch::virt_to_phys(dma).value() < (uint64_t{1} << 32));
  KEXPECT(std::strcmp(kmem_cache_name(virt_to_cache(d32)), "dma32-kmalloc-512") == 0);
  KEXPECT(std::strcmp(kmem_cache_name(virt_to_cache(dma)), "dma-kmalloc-512") == 0);
  kfree(d32);
  kfree(dma);
}

SELFTEST(kmalloc, kvmalloc_falls_back_to_vmalloc) {
  if (!vmalloc_ready()) {
    t.skip("vmalloc not initialised");
    return;
  }
  // Above KMALLOC_MAX_SIZE: only vmalloc can serve it.
  auto* p = static_cast<uint8_t*>(kvzalloc(8u << 20, GFP_KERNEL));
  KASSERT(p != nullptr);
  KEXPECT(is_vmalloc_addr(p));
  KEXPECT(p[0] == 0 && p[(8u << 20) - 1] == 0);
  kvfree(p);
  void* s = kvmalloc(3000, GFP_KERNEL);
  KEXPECT(s && !is_vmalloc_addr(s));
  kvfree(s);
}

SELFTEST(kmalloc, foreign_kfree_is_refused) {
  const uint64_t r0 = slab_nr_reports();
  void* page = __get_free_page(GFP_KERNEL);
  kfree(page);
  KEXPECT_EQ(slab_nr_reports() - r0, 1u);
  free_page(page);
}

namespace {

std::atomic<unsigned> g_kmalloc_smp_errors;

void kmalloc_worker(void*) {
  constexpr int kLive = 32;
  uint8_t* live[kLive];
  size_t sizes[kLive];
  int n = 0;
  uint32_t x = 88172645u + arch::this_cpu() * 7919u;
  for (int i = 0; i < 10000; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    if (n < kLive && (n == 0 || (x & 1))) {
      const size_t size = 1 + (x >> 3) % ((x & 0xf0) == 0 ? 20000 : 700);
      auto* p = static_cast<uint8_t*>(kmalloc(size, GFP_ATOMIC));
      if (!p) {
        g_kmalloc_smp_errors.fetch_add(1);
        break;
      }
      p[0] = p[size - 1] = static_cast<uint8_t>(size);
      live[n] = p;
      sizes[n++] = size;
    } else {
      --n;
      if (live[n][0] != static_cast<uint8_t>(sizes[n]) ||
          live[n][sizes[n] - 1] != static_cast<uint8_t>(sizes[n]))
        g_kmalloc_smp_errors.fetch_add(1);
      kfree(live[n]);
    }
  }
  while (n) kfree(live[--n]);
}

}  // namespace

SELFTEST(kmalloc, all_harts_kmalloc_and_kfree_at_once) {
  g_kmalloc_smp_errors.store(0);
  const unsigned ran = arch::smp_call_all_concurrently(kmalloc_worker, nullptr);
  KEXPECT_EQ(ran, arch::nr_online_cpus());
  KEXPECT_EQ(g_kmalloc_smp_errors.load(), 0u);
}

SELFTEST(kmalloc, bench_kmalloc64_kfree) {
  kfree(kmalloc(64, GFP_KERNEL));
  constexpr uint64_t kIters = 10000;
  const uint64_t i0 = arch::read_instret();
  for (uint64_t i = 0; i < kIters; ++i) kfree(kmalloc(64, GFP_KERNEL));
  const uint64_t i1 = arch::read_instret();
  t.diag("kmalloc(64)+kfree: %llu instructions per pair",
         static_cast<unsigned long long>((i1 - i0) / kIters));
}

}  // namespace k
