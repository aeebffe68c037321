// On-target self-tests of the dynamic per-CPU allocator (suite
// `percpu_alloc`): every hart reaches its own copy through this_cpu_ptr,
// in the first chunk and in chunks added when it is full; emptied chunks
// and their pages go back.
#include <arch/cpu.h>
#include <arch/percpu.h>

#include "arch/riscv/kernel/smp.h"
#include "kernel/selftest.h"
#include "mm/page_alloc.h"
#include "mm/percpu_alloc.h"
#include "mm/vmalloc.h"

namespace k {
namespace {

uint64_t counter_percpu_bytes() { return percpu_dynamic_used(); }
SELFTEST_COUNTER(percpu_dynamic_bytes, counter_percpu_bytes);
SELFTEST_COUNTER(percpu_chunks, percpu_nr_chunks);
SELFTEST_COUNTER(percpu_populated_pages, arch::percpu_populated_pages);

void bump(void* p) {
  auto* v = static_cast<uint64_t*>(p);
  for (int i = 0; i < 1000; ++i) ++*this_cpu_ptr(v);
  *this_cpu_ptr(v + 1) = arch::this_cpu() + 1;
}

// Many objects spanning several chunks; each CPU fills its copies.
struct Objects {
  void** ptrs;
  size_t* sizes;
  unsigned n;
};

uint64_t pattern(unsigned cpu, unsigned obj, size_t word) {
  return (uint64_t{cpu} << 48) ^ (uint64_t{obj} << 20) ^ word ^ 0x5a5a000000000000ull;
}

void fill_own_copies(void* p) {
  auto* o = static_cast<Objects*>(p);
  const unsigned cpu = arch::this_cpu();
  for (unsigned i = 0; i < o->n; ++i) {
    auto* w = static_cast<uint64_t*>(this_cpu_ptr(o->ptrs[i]));
    for (size_t j = 0; j < o->sizes[i] / 8; ++j) w[j] = pattern(cpu, i, j);
  }
}

}  // namespace

SELFTEST(percpu_alloc, each_hart_updates_its_own_copy) {
  if (!percpu_dynamic_ready()) {
    t.skip("percpu_init has no dynamic region (percpu_dynamic_init not called)");
    return;
  }
  auto* v = static_cast<uint64_t*>(alloc_percpu(2 * sizeof(uint64_t), 16));
  KASSERT(v != nullptr);
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) KEXPECT_EQ(*per_cpu_ptr(v, c), 0u);
  const unsigned ran = arch::smp_call_all_concurrently(bump, v);
  unsigned seen = 0;
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) {
    if (!arch::cpu_online(c)) continue;
    KEXPECT_EQ(*per_cpu_ptr(v, c), 1000u);
    KEXPECT_EQ(per_cpu_ptr(v, c)[1], c + 1);
    ++seen;
  }
  KEXPECT_EQ(seen, ran);
  free_percpu(v);
}

SELFTEST(percpu_alloc, grows_past_the_first_chunk_and_shrinks_back) {
  if (!percpu_dynamic_ready() || !vmalloc_ready()) {
    t.skip("no dynamic per-CPU region or no page allocator yet");
    return;
  }
  // 4.5 chunks' worth per CPU in objects of 16 .. 4096 bytes.
  constexpr unsigned kMax = 1024;
  const size_t want = 4 * percpu_chunk_size() + percpu_chunk_size() / 2;
  auto* ptrs = static_cast<void**>(vzalloc(kMax * sizeof(void*)));
  auto* sizes = static_cast<size_t*>(vzalloc(kMax * sizeof(size_t)));
  KASSERT(ptrs && sizes);
  const uint64_t chunks0 = percpu_nr_chunks();
  const uint64_t pages0 = arch::percpu_populated_pages();
  size_t total = 0;
  unsigned n = 0;
  for (; n < kMax && total < want; ++n) {
    sizes[n] = size_t{16} << (n % 9);  // 16 .. 4096
    ptrs[n] = alloc_percpu(sizes[n], n % 3 ? 16 : 64);
    if (!ptrs[n]) break;
    total += sizes[n];
  }
  KEXPECT(total >= want);
  KEXPECT(percpu_nr_chunks() >= chunks0 + 4);
  KEXPECT(arch::percpu_populated_pages() > pages0);
  KEXPECT_EQ(arch::percpu_populated_pages() - pages0,
             (percpu_nr_chunks() - chunks0) * (percpu_chunk_size() / kPageSize) * arch::nr_cpus());
  // Every online CPU writes its own copies through this_cpu_ptr at once;
  // this hart then reads every CPU's copies through per_cpu_ptr.
  Objects objs{ptrs, sizes, n};
  arch::smp_call_all_concurrently(fill_own_copies, &objs);
  unsigned bad = 0;
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) {
    if (!arch::cpu_online(c)) continue;
    for (unsigned i = 0; i < n; ++i) {
      auto* w = static_cast<const uint64_t*>(per_cpu_ptr(ptrs[i], c));
      for (size_t j = 0; j < sizes[i] / 8; ++j) bad += w[j] != pattern(c, i, j);
    }
  }
  KEXPECT_EQ(bad, 0u);
  for (unsigned i = 0; i < n; ++i) free_percpu(ptrs[i]);
  // At most one empty chunk stays as a spare; shrinking frees it.
  KEXPECT(percpu_nr_chunks() <= chunks0 + 1);
  percpu_shrink();
  KEXPECT_EQ(percpu_nr_chunks(), chunks0);
  KEXPECT_EQ(arch::percpu_populated_pages(), pages0);
  vfree(ptrs);
  vfree(sizes);
}

SELFTEST(percpu_alloc, bad_requests_are_refused_and_reported) {
  if (!percpu_dynamic_ready()) {
    t.skip("percpu_init has no dynamic region (percpu_dynamic_init not called)");
    return;
  }
  KEXPECT(alloc_percpu(percpu_chunk_size() + 1, 16) == nullptr);
  KEXPECT(alloc_percpu(0, 16) == nullptr);
  KEXPECT(alloc_percpu(64, 24) == nullptr);
  KEXPECT(alloc_percpu(64, 2 * kPageSize) == nullptr);
  void* p = alloc_percpu(4096, 4096);
  KASSERT(p != nullptr);
  KEXPECT_EQ(reinterpret_cast<uint64_t>(per_cpu_ptr(p, arch::this_cpu())) % 4096, 0u);
  const uint64_t used = percpu_dynamic_used();
  free_percpu(static_cast<char*>(p) + 16);  // not an allocation: reported, ignored
  KEXPECT_EQ(percpu_dynamic_used(), used);
  free_percpu(p);
  free_percpu(p);  // double free: reported, ignored
  KEXPECT_EQ(percpu_dynamic_used(), used - 4096);
  percpu_shrink();
}

}  // namespace k
