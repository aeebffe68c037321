// User page-fault resolution (see mm/fault.h).
#include "mm/fault.h"

#include <cstring>

#include <arch/user_pgtable.h>

#include "mm/fault_bench.h"
#include "mm/accounting.h"
#include "mm/gfp.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace k {
namespace {

using arch::UserPte;

uint64_t g_zero_page_pa;

bool is_zero_pte(uint64_t e) {
  return g_zero_page_pa && arch::user_pte_phys(e).value() == g_zero_page_pa;
}

bool vma_allows(const Vma& v, FaultAccess a) {
  switch (a) {
    case FaultAccess::kRead:
      return v.flags & (VM_READ | VM_WRITE);
    case FaultAccess::kWrite:
      return v.flags & VM_WRITE;
    case FaultAccess::kExec:
      return v.flags & VM_EXEC;
  }
  return false;
}

bool pte_allows(uint64_t e, FaultAccess a) {
  switch (a) {
    case FaultAccess::kRead:
      return e & UserPte::kRead;
    case FaultAccess::kWrite:
      return e & UserPte::kWrite;
    case FaultAccess::kExec:
      return e & UserPte::kExec;
  }
  return false;
}

// Stack growth (Linux expand_downwards): below a VM_GROWSDOWN VMA, keep
// kStackGuardGap free above the previous VMA and stay within RLIMIT_STACK.
bool expand_stack(MmStruct* mm, Vma* v, uint64_t addr) {
  const uint64_t new_start = addr & kPageMask;
  Vma* prev = VmaTree::prev(v);
  if (prev && (new_start < prev->end || new_start - prev->end < kStackGuardGap)) return false;
  if (mm->stack_top && mm->stack_top - new_start > kStackLimit) return false;
  if (!mm->vmas.expand_down(v, new_start).ok()) return false;
  mm->update_hiwater();
  return true;
}

// A new page for `addr` in `v`: zeroes, or the file bytes there. `timed`:
// the fill is stamped for a benchmark (mm/fault_bench.h).
FaultResult fill_new_page(const Vma& v, uint64_t addr, Page** out, bool* from_file,
                          bool timed = false) {
  *from_file = false;
  uint64_t avail = 0;
  uint64_t off = 0;
  if (!v.anonymous()) {
    off = v.file_offset(addr);
    if (off >= align_up(v.file.size, kPageSize)) return FaultResult::kBus;
    avail = v.file.size - off < kPageSize ? v.file.size - off : kPageSize;
    *from_file = true;
  }
  const bool zero = avail < kPageSize;
  Page* p = alloc_pages(GFP_KERNEL | __GFP_NOWARN | (zero && !timed ? __GFP_ZERO : 0), 0);
  if (!p) return FaultResult::kOom;
  account_pages(MM_USER, p, 0, +1);  // mm/accounting.h
  fault_bench::timed_fill(timed, [&] {
    if (zero && timed) memset(page_address(p), 0, kPageSize);  // what __GFP_ZERO does
    if (avail) memcpy(page_address(p), v.file.data + off, avail);
  });
  *out = p;
  return FaultResult::kOk;
}

// Linux do_fault_around(): a read fault in a file mapping also maps the
// other not-yet-present pages of its aligned 64 KiB window (inside the
// VMA and the file), so a program's text arrives in a few faults instead
// of one per page. Best effort: stops quietly without memory.
constexpr uint64_t kFaultAroundBytes = 64 * 1024;

void fault_around(MmStruct* mm, const Vma& v, uint64_t va) {
  uint64_t lo = align_down(va, kFaultAroundBytes);
  uint64_t hi = lo + kFaultAroundBytes;
  if (lo < v.start) lo = v.start;
  if (hi > v.end) hi = v.end;
  for (uint64_t a = lo; a < hi; a += kPageSize) {
    if (a == va) continue;
    if (v.file_offset(a) >= v.file.size) break;  // past the file: SIGBUS region
    uint64_t* slot = arch::user_pte_slot(&mm->pgd, a, true);
    if (!slot) return;
    if (arch::user_pte_valid(arch::user_pte_get(slot))) continue;
    Page* p = nullptr;
    bool from_file = false;
    if (fill_new_page(v, a, &p, &from_file) != FaultResult::kOk) return;
    arch::user_pte_set(
        slot, arch::user_pte_make(page_to_phys(p), mm_detail::pte_flags_for(v.flags, true) |
                                                       mm_detail::file_pte_bit()));
    mm->rss_file.fetch_add(1);
  }
}

FaultResult fault_locked(MmStruct* mm, uint64_t addr, FaultAccess access) {
  if (addr >= arch::user_task_size()) return FaultResult::kSegvMapErr;
  Vma* v = mm->vmas.find_vma(addr);
  if (!v) return FaultResult::kSegvMapErr;
  if (v->start > addr) {
    if (!(v->flags & VM_GROWSDOWN) || !expand_stack(mm, v, addr)) return FaultResult::kSegvMapErr;
  }
  if (!vma_allows(*v, access)) return FaultResult::kSegvAccErr;
  const uint64_t va = addr & kPageMask;
  uint64_t* slot = arch::user_pte_slot(&mm->pgd, va, true);
  if (!slot) return FaultResult::kOom;
  const uint64_t e = arch::user_pte_get(slot);
  if (arch::user_pte_valid(e)) {
    if (pte_allows(e, access)) {
      // Accessed/dirty update (harts without hardware A/D raise a fault
      // instead, FACTS.md "A/D bits"), or a stale TLB entry elsewhere.
      uint64_t ne = e | UserPte::kAccessed;
      if (access == FaultAccess::kWrite) ne |= UserPte::kDirty;
      if (ne != e) arch::user_pte_set(slot, ne);
      arch::user_flush_tlb_page_local(&mm->pgd, va);
      return FaultResult::kOk;
    }
    if (is_zero_pte(e)) {
      if (access != FaultAccess::kWrite) return FaultResult::kSegvAccErr;  // exec on data
      Page* p = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, 0);
      if (!p) return FaultResult::kOom;
      account_pages(MM_USER, p, 0, +1);  // mm/accounting.h
      arch::user_pte_set(
          slot, arch::user_pte_make(page_to_phys(p), mm_detail::pte_flags_for(v->flags, true)));
      mm->rss_anon.fetch_add(1);
      mm->update_hiwater();
      arch::user_flush_tlb_range(&mm->pgd, va, va + kPageSize);
      return FaultResult::kOk;
    }
    const uint64_t keep_file = e & mm_detail::file_pte_bit();
    Page* old = phys_to_page(arch::user_pte_phys(e));
    if (access != FaultAccess::kWrite) {
      // The VMA allows it but the PTE does not (flags older than the
      // VMA's): rebuild them.
      arch::user_pte_set(
          slot,
          arch::user_pte_make(arch::user_pte_phys(e),
                              mm_detail::pte_flags_for(v->flags, old->ref() == 1) | keep_file));
      arch::user_flush_tlb_page_local(&mm->pgd, va);
      return FaultResult::kOk;
    }
    // Copy-on-write. The last user takes the page over; otherwise copy.
    const uint64_t flags = mm_detail::pte_flags_for(v->flags, true);
    if (keep_file) {
      mm->rss_file.fetch_sub(1);
      mm->rss_anon.fetch_add(1);
    }
    if (old->ref() == 1) {
      arch::user_pte_set(slot, arch::user_pte_make(arch::user_pte_phys(e), flags));
      arch::user_flush_tlb_page_local(&mm->pgd, va);
      return FaultResult::kOk;
    }
    Page* copy = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
    if (!copy) {
      if (keep_file) {
        mm->rss_file.fetch_add(1);
        mm->rss_anon.fetch_sub(1);
      }
      return FaultResult::kOom;
    }
    account_pages(MM_USER, copy, 0, +1);  // mm/accounting.h
    fault_bench::timed_fill(fault_bench::stamped(va),
                            [&] { memcpy(page_address(copy), page_address(old), kPageSize); });
    arch::user_pte_set(slot, arch::user_pte_make(page_to_phys(copy), flags));
    // Every hart must drop the old translation before `old` can be freed
    // by its other user.
    arch::user_flush_tlb_range(&mm->pgd, va, va + kPageSize);
    put_accounted_page(MM_USER, old);  // mm/accounting.h
    return FaultResult::kOk;
  }
  if (v->anonymous() && access == FaultAccess::kRead && g_zero_page_pa) {
    arch::user_pte_set(slot, arch::user_pte_make(k::PhysAddr(g_zero_page_pa),
                                                 mm_detail::pte_flags_for(v->flags, false)));
    arch::user_flush_tlb_page_local(&mm->pgd, va);
    return FaultResult::kOk;
  }
  Page* p = nullptr;
  bool from_file = false;
  const FaultResult r = fill_new_page(*v, va, &p, &from_file, fault_bench::stamped(va));
  if (r != FaultResult::kOk) return r;
  arch::user_pte_set(
      slot, arch::user_pte_make(page_to_phys(p), mm_detail::pte_flags_for(v->flags, true) |
                                                     (from_file ? mm_detail::file_pte_bit() : 0)));
  if (from_file)
    mm->rss_file.fetch_add(1);
  else
    mm->rss_anon.fetch_add(1);
  if (from_file && access != FaultAccess::kWrite) fault_around(mm, *v, va);
  if (v->flags & VM_EXEC) arch::flush_icache_local();
  mm->update_hiwater();
  // Harts may cache the invalid entry (no Svvptc assumed).
  arch::user_flush_tlb_page_local(&mm->pgd, va);
  return FaultResult::kOk;
}

}  // namespace

bool fault_init() {
  if (g_zero_page_pa) return true;
  Page* p = alloc_pages(GFP_KERNEL | __GFP_ZERO, 0);
  if (!p) return false;
  g_zero_page_pa = page_to_phys(p).value();
  return true;
}

uint64_t zero_page_phys() { return g_zero_page_pa; }

const char* fault_result_name(FaultResult r) {
  switch (r) {
    case FaultResult::kOk:
      return "ok";
    case FaultResult::kSegvMapErr:
      return "SIGSEGV (no mapping)";
    case FaultResult::kSegvAccErr:
      return "SIGSEGV (access not permitted)";
    case FaultResult::kBus:
      return "SIGBUS (past the end of the file)";
    case FaultResult::kOom:
      return "out of memory";
  }
  return "?";
}

FaultResult handle_mm_fault(MmStruct* mm, uint64_t addr, FaultAccess access) {
  IrqSpinLockGuard g(mm->lock);
  return fault_locked(mm, addr, access);
}

bool fault_in_user_page(MmStruct* mm, uint64_t addr, bool write) {
  if (!mm) return false;
  {
    IrqSpinLockGuard g(mm->lock);
    uint64_t* slot = arch::user_pte_slot(&mm->pgd, addr & kPageMask, false);
    if (slot) {
      const uint64_t e = arch::user_pte_get(slot);
      const uint64_t need = UserPte::kValid | UserPte::kUser | UserPte::kAccessed |
                            (write ? UserPte::kWrite | UserPte::kDirty : UserPte::kRead);
      if ((e & need) == need) return true;
    }
  }
  return handle_mm_fault(mm, addr, write ? FaultAccess::kWrite : FaultAccess::kRead) ==
         FaultResult::kOk;
}

}  // namespace k
