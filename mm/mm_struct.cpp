// Address-space lifetime, fork's copy-on-write duplicate, and the page
// side of munmap/mprotect/MADV_DONTNEED (see mm/mm_struct.h).
#include "mm/mm_struct.h"

#include <new>

#include "kernel/printk.h"
#include "mm/accounting.h"
#include "mm/fault.h"
#include "mm/gfp.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/slab.h"

namespace k {
namespace {

using arch::UserPte;

KmemCache* g_vma_cache;
KmemCache* g_mm_cache;
std::atomic<uint64_t> g_live_mms{0};
SpinLock g_cache_lock;

void ensure_caches() {
  if (__atomic_load_n(&g_mm_cache, __ATOMIC_ACQUIRE)) return;
  SpinLockGuard g(g_cache_lock);
  if (g_mm_cache) return;
  g_vma_cache = kmem_cache_create("vm_area_struct", sizeof(Vma), alignof(Vma), 0, nullptr);
  KmemCache* mm = kmem_cache_create("mm_struct", sizeof(MmStruct), alignof(MmStruct), 0, nullptr);
  __atomic_store_n(&g_mm_cache, mm, __ATOMIC_RELEASE);
}

Vma* vma_alloc() {
  void* p = kmem_cache_alloc(g_vma_cache, GFP_KERNEL);
  return p ? new (p) Vma() : nullptr;
}
void vma_free(Vma* v) { kmem_cache_free(g_vma_cache, v); }
const VmaAllocator kVmaAlloc{vma_alloc, vma_free};

// Pages unmapped during one edit wait here until the TLB shootdown.
struct ZapBatch {
  static constexpr unsigned kMax = 64;
  MmStruct* mm;
  Page* pages[kMax];
  unsigned n = 0;
  uint64_t lo = ~uint64_t{0}, hi = 0;

  void flush() {
    if (n == 0 && hi == 0) return;
    if (hi > lo) arch::user_flush_tlb_range(&mm->pgd, lo, hi);
    for (unsigned i = 0; i < n; ++i) put_accounted_page(MM_USER, pages[i]);
    n = 0;
    lo = ~uint64_t{0};
    hi = 0;
  }
};

bool is_zero(uint64_t e) {
  return zero_page_phys() && arch::user_pte_phys(e).value() == zero_page_phys();
}

void zap_one(uint64_t va, uint64_t* slot, void* ctx) {
  auto* b = static_cast<ZapBatch*>(ctx);
  const uint64_t e = arch::user_pte_get(slot);
  arch::user_pte_set(slot, 0);
  if (is_zero(e)) {
    // The shared zero page: no reference, no RSS; only the TLB matters.
    if (va < b->lo) b->lo = va;
    if (va + kPageSize > b->hi) b->hi = va + kPageSize;
    return;
  }
  if (e & mm_detail::file_pte_bit())
    b->mm->rss_file.fetch_sub(1);
  else
    b->mm->rss_anon.fetch_sub(1);
  if (va < b->lo) b->lo = va;
  if (va + kPageSize > b->hi) b->hi = va + kPageSize;
  b->pages[b->n++] = phys_to_page(arch::user_pte_phys(e));
  if (b->n == ZapBatch::kMax) b->flush();
}

struct ProtectCtx {
  MmStruct* mm;
  vm_flags_t flags;
};

void protect_one(uint64_t, uint64_t* slot, void* ctx) {
  auto* c = static_cast<ProtectCtx*>(ctx);
  const uint64_t e = arch::user_pte_get(slot);
  if (is_zero(e)) {
    arch::user_pte_set(slot, arch::user_pte_make(arch::user_pte_phys(e),
                                                 mm_detail::pte_flags_for(c->flags, false)));
    return;
  }
  Page* p = phys_to_page(arch::user_pte_phys(e));
  // Writable only while this mapping is the page's only user; a shared
  // (copy-on-write) page stays read-only until the write fault copies it.
  const bool writable = (c->flags & VM_WRITE) && p->ref() == 1;
  const uint64_t keep = e & (mm_detail::file_pte_bit() | UserPte::kCow);
  arch::user_pte_set(slot,
                     arch::user_pte_make(arch::user_pte_phys(e),
                                         mm_detail::pte_flags_for(c->flags, writable) | keep));
}

struct ForkCtx {
  MmStruct* child;
  bool writable_vma;
  bool failed;
};

void fork_one(uint64_t va, uint64_t* slot, void* ctx) {
  auto* c = static_cast<ForkCtx*>(ctx);
  if (c->failed) return;
  uint64_t e = arch::user_pte_get(slot);
  uint64_t* child_slot = arch::user_pte_slot(&c->child->pgd, va, true);
  if (!child_slot) {
    c->failed = true;
    return;
  }
  if (c->writable_vma && (e & UserPte::kWrite)) {
    e = (e & ~(UserPte::kWrite | UserPte::kDirty)) | UserPte::kCow;
    arch::user_pte_set(slot, e);
  }
  if (is_zero(e)) {
    arch::user_pte_set(child_slot, e);
    return;
  }
  get_page(phys_to_page(arch::user_pte_phys(e)));
  arch::user_pte_set(child_slot, e);
  if (e & mm_detail::file_pte_bit())
    c->child->rss_file.fetch_add(1);
  else
    c->child->rss_anon.fetch_add(1);
}

}  // namespace

namespace mm_detail {

uint64_t file_pte_bit() { return uint64_t{1} << 9; }  // RSW bit 9 (pte::kSoft1)

uint64_t pte_flags_for(vm_flags_t flags, bool writable) {
  uint64_t f = UserPte::kValid | UserPte::kUser | UserPte::kAccessed;
  // W without R is reserved (Privileged spec 4.3.1 table 4.5).
  if (flags & (VM_READ | VM_WRITE)) f |= UserPte::kRead;
  if (flags & VM_EXEC) f |= UserPte::kExec;
  if ((flags & VM_WRITE) && writable) f |= UserPte::kWrite | UserPte::kDirty;
  return f;
}

void zap_locked(MmStruct* mm, uint64_t start, uint64_t end) {
  ZapBatch b;
  b.mm = mm;
  arch::user_walk(&mm->pgd, start, end, zap_one, &b);
  b.flush();
  arch::user_free_empty_tables(&mm->pgd, start, end);
}

}  // namespace mm_detail

uint64_t mm_live_count() { return g_live_mms.load(); }

bool mm_struct_init() {
  ensure_caches();
  return g_mm_cache && g_vma_cache;
}

MmStruct* mm_alloc() {
  ensure_caches();
  void* p = kmem_cache_alloc(g_mm_cache, GFP_KERNEL);
  if (!p) return nullptr;
  auto* mm = new (p) MmStruct(kVmaAlloc);
  if (!arch::user_pgd_alloc(&mm->pgd).ok()) {
    mm->~MmStruct();
    kmem_cache_free(g_mm_cache, p);
    return nullptr;
  }
  g_live_mms.fetch_add(1);
  return mm;
}

void mmput(MmStruct* mm) {
  if (!mm || mm->users.fetch_sub(1) != 1) return;
  {
    IrqSpinLockGuard g(mm->lock);
    mm_detail::zap_locked(mm, 0, arch::user_task_size());
    mm->vmas.clear();
  }
  if (mm->rss_anon.load() || mm->rss_file.load())
    pr_err("mm: RSS accounting off at teardown (anon %lld file %lld)\n",
           static_cast<long long>(mm->rss_anon.load()),
           static_cast<long long>(mm->rss_file.load()));
  arch::user_pgd_free(&mm->pgd);
  mm->~MmStruct();
  kmem_cache_free(g_mm_cache, mm);
  g_live_mms.fetch_sub(1);
}

MmStruct* dup_mm(MmStruct* parent) {
  MmStruct* child = mm_alloc();
  if (!child) return nullptr;
  bool ok = true;
  {
    IrqSpinLockGuard g(parent->lock);
    for (Vma* v = parent->vmas.first(); v && ok; v = VmaTree::next(v)) {
      if (!child->vmas.map(v->start, v->end, VmaProto{v->flags, v->file, v->pgoff}).ok()) {
        ok = false;
        break;
      }
      ForkCtx c{child, (v->flags & VM_WRITE) != 0, false};
      arch::user_walk(&parent->pgd, v->start, v->end, fork_one, &c);
      ok = !c.failed;
    }
    // The parent's PTEs lost W: its harts must not keep writable entries.
    arch::user_flush_tlb_range(&parent->pgd, 0, arch::user_task_size());
    child->start_code = parent->start_code;
    child->end_code = parent->end_code;
    child->start_data = parent->start_data;
    child->end_data = parent->end_data;
    child->start_brk = parent->start_brk;
    child->brk = parent->brk;
    child->start_stack = parent->start_stack;
    child->stack_top = parent->stack_top;
    child->mmap_base = parent->mmap_base;
    child->arg_start = parent->arg_start;
    child->arg_end = parent->arg_end;
    child->env_start = parent->env_start;
    child->env_end = parent->env_end;
    child->hiwater_vm = parent->hiwater_vm;
    child->hiwater_rss = child->rss();
  }
  if (!ok) {
    mmput(child);
    return nullptr;
  }
  return child;
}

Result<Vma*> mm_map(MmStruct* mm, uint64_t start, uint64_t end, const VmaProto& proto) {
  IrqSpinLockGuard g(mm->lock);
  auto r = mm->vmas.map(start, end, proto);
  if (r.ok()) mm->update_hiwater();
  return r;
}

Result<void> mm_unmap(MmStruct* mm, uint64_t start, uint64_t end) {
  IrqSpinLockGuard g(mm->lock);
  return mm->vmas.unmap(
      start, end, [&](uint64_t s, uint64_t e, const Vma&) { mm_detail::zap_locked(mm, s, e); });
}

Result<void> mm_protect(MmStruct* mm, uint64_t start, uint64_t end, vm_flags_t access) {
  IrqSpinLockGuard g(mm->lock);
  bool changed = false;
  auto r =
      mm->vmas.protect(start, end, access, [&](uint64_t s, uint64_t e, const Vma&, vm_flags_t nf) {
        ProtectCtx c{mm, nf};
        arch::user_walk(&mm->pgd, s, e, protect_one, &c);
        changed = true;
      });
  if (changed) arch::user_flush_tlb_range(&mm->pgd, start, end);
  return r;
}

void mm_zap(MmStruct* mm, uint64_t start, uint64_t end) {
  IrqSpinLockGuard g(mm->lock);
  mm_detail::zap_locked(mm, start, end);
}

Result<void> mm_populate(MmStruct* mm, uint64_t start, uint64_t end, bool write) {
  for (uint64_t a = start; a < end; a += kPageSize) {
    const FaultResult r = handle_mm_fault(mm, a, write ? FaultAccess::kWrite : FaultAccess::kRead);
    if (r == FaultResult::kOom) return Errno::kENOMEM;
    if (r != FaultResult::kOk) return Errno::kEFAULT;
  }
  return {};
}

}  // namespace k
