// The anonymous write fault's handler, taken apart (issue 8, item 1: what
// holds the "fault excluding the clear <= 400" target back). The whole
// fault through the real trap path is measured by bench_proc
// (kernel/proc/proc_bench.cpp); here the same handler runs from kernel
// context on an address space of its own (no trap, so the figure is the
// handler plus the clear), and then each step it takes is timed alone:
//
//   fault_kernel_anon        handle_mm_fault(write) of a fresh page
//   fault_part_mm_lock       mm->lock with interrupts masked, and back
//   fault_part_find_vma      find_vma missing the one-entry cache
//   fault_part_pte_slot      the page-table walk to a present PTE table
//   fault_part_alloc_page    alloc_pages(order 0) from the pcp list
//   fault_part_clear_4k      memset of 4 KiB (the __GFP_ZERO clear)
//   fault_part_rss_hiwater   the two RSS counters and update_hiwater
//   fault_part_tlb_local     the local flush of the new translation
#include <arch/cpu.h>
#include <arch/user_pgtable.h>

#include <cstring>

#include "kernel/bench.h"
#include "mm/accounting.h"
#include "mm/fault.h"
#include "mm/gfp.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/slab.h"

using namespace k;

namespace {

constexpr uint64_t kBase = uint64_t{64} << 30;  // any user address

VmaProto anon_rw() {
  VmaProto p;
  p.flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
  return p;
}

void run(bench::Context& b, MmStruct* mm) {
  const uint64_t n = b.iters(1000);
  const uint64_t end = kBase + n * kPageSize;
  if (!mm_map(mm, kBase, end, anon_rw()).ok()) return b.fail("fault_parts: mm_map failed");
  // A second VMA (read-only, so it does not merge) to bounce find_vma's
  // cache between.
  VmaProto ro;
  ro.flags = VM_READ | VM_MAYREAD;
  if (!mm_map(mm, end + kPageSize, end + 2 * kPageSize, ro).ok())
    return b.fail("fault_parts: mm_map failed");

  uint64_t va = kBase;
  bool ok = true;
  b.measure("fault_kernel_anon", n, [&] {
    ok &= handle_mm_fault(mm, va, FaultAccess::kWrite) == FaultResult::kOk;
    va += kPageSize;
  });
  if (!ok) return b.fail("fault_kernel_anon: a fault failed");

  b.measure("fault_part_mm_lock", b.iters(1000), [&] { IrqSpinLockGuard g(mm->lock); });

  uint64_t flip = 0;
  Vma* found = nullptr;
  b.measure("fault_part_find_vma", b.iters(1000),
            [&] { found = mm->vmas.find_vma((++flip & 1) ? kBase : end + kPageSize); });
  if (!found) return b.fail("fault_part_find_vma: no VMA found");

  va = kBase;
  uint64_t* slot = nullptr;
  b.measure("fault_part_pte_slot", n, [&] {
    slot = arch::user_pte_slot(&mm->pgd, va, true);
    va += kPageSize;
  });
  if (!slot) return b.fail("fault_part_pte_slot: no slot");

  // Allocations timed one by one, freed afterwards (a pcp batch at a time
  // so the list refills at its natural rate).
  static Page* pages[64];
  bench::Stats s;
  for (uint64_t done = 0; done < b.iters(1024);) {
    unsigned got = 0;
    for (; got < 64; ++got) {
      const uint64_t t0 = bench::Context::now();
      pages[got] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
      s.add(bench::Context::now() - t0);
      if (!pages[got]) return b.fail("fault_part_alloc_page: allocation failed");
    }
    for (unsigned i = 0; i < got; ++i) __free_pages(pages[i], 0);
    done += got;
  }
  b.report("fault_part_alloc_page", s);

  Page* p = alloc_pages(GFP_KERNEL, 0);
  if (!p) return b.fail("fault_part_clear_4k: allocation failed");
  b.measure("fault_part_clear_4k", b.iters(1000), [&] { memset(page_address(p), 0, kPageSize); });
  __free_pages(p, 0);

  const uint64_t rss_ops = b.iters(1000);
  b.measure("fault_part_rss_hiwater", rss_ops, [&] {
    mm->rss_anon.fetch_add(1);
    mm->update_hiwater();
  });
  mm->rss_anon.fetch_sub(static_cast<int64_t>(rss_ops));

  b.measure("fault_part_tlb_local", b.iters(1000),
            [&] { arch::user_flush_tlb_page_local(&mm->pgd, kBase); });
}

}  // namespace

namespace {

// Free pages once per-CPU lists and cached empty slabs are given back.
uint64_t free_pages_settled() { return nr_free_pages_quiesced(); }

}  // namespace

BENCH(fault_parts) {
  const uint64_t free_before = free_pages_settled();
  MmStruct* mm = mm_alloc();
  if (!mm) return b.fail("fault_parts: mm_alloc failed");
  run(b, mm);
  mmput(mm);
  const uint64_t free_after = free_pages_settled();
  if (free_after != free_before)
    b.fail("fault_parts: free pages %llu before, %llu after",
           static_cast<unsigned long long>(free_before),
           static_cast<unsigned long long>(free_after));
}
