// On-target tests of the VMA tree and demand paging on a real address
// space (suite `vma`): the kmem_cache-backed tree, faults that populate
// pages, zap/unmap/mprotect on the page tables, and nothing lost.
#include <arch/user_pgtable.h>

#include "kernel/selftest.h"
#include "mm/accounting.h"
#include "mm/fault.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"

namespace {

using namespace k;

uint64_t settled_free() { return nr_free_pages_quiesced(); }

constexpr vm_flags_t kRW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;

bool present(MmStruct* mm, uint64_t va) {
  uint64_t* slot = arch::user_pte_slot(&mm->pgd, va, false);
  return slot && arch::user_pte_valid(arch::user_pte_get(slot));
}

}  // namespace

SELFTEST_COUNTER(live_mm_structs, k::mm_live_count);

SELFTEST(vma, map_merge_split_on_a_real_mm) {
  MmStruct* mm = mm_alloc();
  KASSERT(mm != nullptr);
  const uint64_t base = 0x10000000;
  KEXPECT(mm_map(mm, base, base + 0x4000, VmaProto{kRW, {}, 0}).ok());
  KEXPECT(mm_map(mm, base + 0x4000, base + 0x8000, VmaProto{kRW, {}, 0}).ok());
  KEXPECT_EQ(mm->vmas.map_count(), 1u);  // merged
  KEXPECT(mm_unmap(mm, base + 0x2000, base + 0x3000).ok());
  KEXPECT_EQ(mm->vmas.map_count(), 2u);  // split
  KEXPECT(mm_protect(mm, base + 0x4000, base + 0x5000, VM_READ).ok());
  KEXPECT_EQ(mm->vmas.map_count(), 4u);  // the upper VMA split in three
  KEXPECT(mm_protect(mm, base + 0x4000, base + 0x5000, VM_READ | VM_WRITE).ok());
  KEXPECT_EQ(mm->vmas.map_count(), 2u);  // and merged back
  KEXPECT(mm->vmas.check() == nullptr);
  KEXPECT_EQ(mm->vmas.total_pages(), 7u);
  mmput(mm);
}

SELFTEST(vma, faults_populate_and_unmap_returns_every_page) {
  const uint64_t before = settled_free();
  MmStruct* mm = mm_alloc();
  KASSERT(mm != nullptr);
  const uint64_t base = 0x20000000;
  KASSERT(mm_map(mm, base, base + 64 * kPageSize, VmaProto{kRW, {}, 0}).ok());
  KEXPECT(!present(mm, base));
  KEXPECT(handle_mm_fault(mm, base + 5, FaultAccess::kWrite) == FaultResult::kOk);
  KEXPECT(handle_mm_fault(mm, base + 10 * kPageSize, FaultAccess::kWrite) == FaultResult::kOk);
  // A read of untouched anonymous memory maps the zero page: no RSS.
  KEXPECT(handle_mm_fault(mm, base + 20 * kPageSize, FaultAccess::kRead) == FaultResult::kOk);
  KEXPECT(present(mm, base) && present(mm, base + 10 * kPageSize));
  KEXPECT_EQ(mm->rss(), 2u);
  KEXPECT(handle_mm_fault(mm, base + 64 * kPageSize, FaultAccess::kRead) ==
          FaultResult::kSegvMapErr);
  KEXPECT(mm_protect(mm, base, base + kPageSize, VM_READ).ok());
  KEXPECT(handle_mm_fault(mm, base, FaultAccess::kWrite) == FaultResult::kSegvAccErr);
  KEXPECT(handle_mm_fault(mm, base, FaultAccess::kExec) == FaultResult::kSegvAccErr);
  mm_zap(mm, base, base + 64 * kPageSize);  // MADV_DONTNEED
  KEXPECT_EQ(mm->rss(), 0u);
  KEXPECT(!present(mm, base + 10 * kPageSize));
  KEXPECT(mm_unmap(mm, base, base + 64 * kPageSize).ok());
  KEXPECT(mm->vmas.empty());
  mmput(mm);
  KEXPECT_EQ(settled_free(), before);
}

SELFTEST(vma, fork_shares_pages_copy_on_write) {
  const uint64_t before = settled_free();
  MmStruct* parent = mm_alloc();
  KASSERT(parent != nullptr);
  const uint64_t base = 0x30000000;
  KASSERT(mm_map(parent, base, base + 4 * kPageSize, VmaProto{kRW, {}, 0}).ok());
  for (int i = 0; i < 4; ++i)
    KEXPECT(handle_mm_fault(parent, base + i * kPageSize, FaultAccess::kWrite) == FaultResult::kOk);
  MmStruct* child = dup_mm(parent);
  KASSERT(child != nullptr);
  KEXPECT_EQ(child->rss(), 4u);
  auto pa = [](MmStruct* mm, uint64_t va) {
    return arch::user_pte_phys(arch::user_pte_get(arch::user_pte_slot(&mm->pgd, va, false)))
        .value();
  };
  KEXPECT_EQ(pa(parent, base), pa(child, base));  // shared
  KEXPECT(handle_mm_fault(child, base, FaultAccess::kWrite) == FaultResult::kOk);
  KEXPECT(pa(parent, base) != pa(child, base));  // copied
  mmput(child);
  // The parent is the last user now: its write fault reuses the page.
  const uint64_t shared = pa(parent, base + kPageSize);
  KEXPECT(handle_mm_fault(parent, base + kPageSize, FaultAccess::kWrite) == FaultResult::kOk);
  KEXPECT_EQ(pa(parent, base + kPageSize), shared);
  mmput(parent);
  KEXPECT_EQ(settled_free(), before);
}

SELFTEST(vma, stack_grows_down_but_keeps_the_guard_gap) {
  MmStruct* mm = mm_alloc();
  KASSERT(mm != nullptr);
  const uint64_t top = 0x40000000;
  mm->stack_top = top;
  KASSERT(mm_map(mm, top - 4 * kPageSize, top, VmaProto{kRW | VM_GROWSDOWN, {}, 0}).ok());
  KEXPECT(handle_mm_fault(mm, top - 10 * kPageSize, FaultAccess::kWrite) == FaultResult::kOk);
  KEXPECT_EQ(mm->vmas.first()->start, top - 10 * kPageSize);
  // A mapping within the guard gap below the stack blocks growth into it.
  const uint64_t low = top - 10 * kPageSize - kStackGuardGap;
  KASSERT(mm_map(mm, low - kPageSize, low, VmaProto{kRW, {}, 0}).ok());
  KEXPECT(handle_mm_fault(mm, low + kPageSize, FaultAccess::kWrite) == FaultResult::kSegvMapErr);
  mmput(mm);
}
