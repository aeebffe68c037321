// Memory system calls (see mm/mmap.h).
#include "mm/mmap.h"

#include <arch/user_pgtable.h>

#include "kernel/proc/file.h"
#include "mm/fault.h"
#include "mm/mm_struct.h"

namespace k {
namespace {

int64_t err(Errno e) { return -static_cast<int64_t>(e); }

vm_flags_t prot_to_vm(uint64_t prot) {
  vm_flags_t f = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (prot & PROT_READ) f |= VM_READ;
  if (prot & PROT_WRITE) f |= VM_WRITE;
  if (prot & PROT_EXEC) f |= VM_EXEC;
  return f;
}

bool range_in_user(uint64_t addr, uint64_t len) {
  const uint64_t top = arch::user_task_size();
  return addr <= top && len <= top - addr;
}

}  // namespace

int64_t sys_brk(MmStruct* mm, uint64_t addr) {
  // Linux mm/mmap.c brk(): failure is reported by returning the old brk.
  if (addr < mm->start_brk) return static_cast<int64_t>(mm->brk);
  const uint64_t new_end = align_up(addr, kPageSize);
  const uint64_t old_end = align_up(mm->brk, kPageSize);
  if (!range_in_user(0, new_end)) return static_cast<int64_t>(mm->brk);
  if (new_end > old_end) {
    {
      IrqSpinLockGuard g(mm->lock);
      // Keep the stack guard gap free too.
      Vma* next = mm->vmas.find_vma(old_end);
      if (next && next->start < new_end + ((next->flags & VM_GROWSDOWN) ? kStackGuardGap : 0))
        return static_cast<int64_t>(mm->brk);
    }
    if (!mm_map(mm, old_end, new_end,
                VmaProto{VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, {}, 0})
             .ok())
      return static_cast<int64_t>(mm->brk);
  } else if (new_end < old_end) {
    if (!mm_unmap(mm, new_end, old_end).ok()) return static_cast<int64_t>(mm->brk);
  }
  mm->brk = addr;
  return static_cast<int64_t>(addr);
}

int64_t sys_mmap(MmStruct* mm, FileTable* files, uint64_t addr, uint64_t len, uint64_t prot,
                 uint64_t flags, int fd, uint64_t off) {
  if (len == 0) return err(Errno::kEINVAL);
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return err(Errno::kEINVAL);
  const uint64_t type = flags & MAP_TYPE;
  if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
    return err(Errno::kEINVAL);
  // Shared mappings need pages shared across fork and written back to a
  // file; neither exists here (the initramfs is read-only).
  if (type != MAP_PRIVATE) return err(Errno::kEINVAL);
  if (!is_aligned(off, kPageSize)) return err(Errno::kEINVAL);
  if (len > arch::user_task_size() || align_up(len, kPageSize) < len) return err(Errno::kENOMEM);
  len = align_up(len, kPageSize);
  const bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
  if (fixed && !is_aligned(addr, kPageSize)) return err(Errno::kEINVAL);
  if (fixed && (!range_in_user(addr, len) || addr < kMmapMinAddr)) return err(Errno::kENOMEM);

  VmaProto proto{prot_to_vm(prot), {}, 0};
  if (flags & MAP_GROWSDOWN) proto.flags |= VM_GROWSDOWN;
  if (flags & MAP_NORESERVE) proto.flags |= VM_NORESERVE;
  if (!(flags & MAP_ANONYMOUS)) {
    auto fr = fd_get(files, fd);
    if (!fr.ok()) return err(Errno::kEBADF);
    OpenFile* f = fr.value();
    const bool regular = f->kind == FileKind::kNode && f->node->is_file();
    const initramfs::Node* node = regular ? f->node : nullptr;
    file_put(f);
    if (!node) return err(Errno::kENODEV);
    proto.file = VmFile{node, node->data.data(), node->data.size()};
    proto.pgoff = off >> kPageShift;
  }

  uint64_t start;
  if (fixed) {
    start = addr;
    if (flags & MAP_FIXED_NOREPLACE) {
      IrqSpinLockGuard g(mm->lock);
      if (mm->vmas.find_vma_intersection(start, start + len)) return err(Errno::kEEXIST);
    } else {
      auto r = mm_unmap(mm, start, start + len);
      if (!r.ok()) return err(r.error());
    }
  } else {
    IrqSpinLockGuard g(mm->lock);
    // A free, aligned hint is honoured (Linux treats it as a hint).
    const uint64_t hint = align_down(addr, kPageSize);
    if (hint >= kMmapMinAddr && range_in_user(hint, len) &&
        !mm->vmas.find_vma_intersection(hint, hint + len)) {
      start = hint;
    } else {
      auto r = mm->vmas.get_unmapped_area(len, kMmapMinAddr, mm->mmap_base, kStackGuardGap);
      if (!r.ok()) return err(Errno::kENOMEM);
      start = r.value();
    }
  }
  auto r = mm_map(mm, start, start + len, proto);
  if (!r.ok()) return err(r.error() == Errno::kEEXIST ? Errno::kENOMEM : r.error());
  if (flags & MAP_POPULATE) (void)mm_populate(mm, start, start + len, prot & PROT_WRITE);
  return static_cast<int64_t>(start);
}

int64_t sys_munmap(MmStruct* mm, uint64_t addr, uint64_t len) {
  if (!is_aligned(addr, kPageSize) || len == 0) return err(Errno::kEINVAL);
  len = align_up(len, kPageSize);
  if (!range_in_user(addr, len)) return err(Errno::kEINVAL);
  auto r = mm_unmap(mm, addr, addr + len);
  return r.ok() ? 0 : err(r.error());
}

int64_t sys_mprotect(MmStruct* mm, uint64_t addr, uint64_t len, uint64_t prot) {
  if (!is_aligned(addr, kPageSize)) return err(Errno::kEINVAL);
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return err(Errno::kEINVAL);
  if (len == 0) return 0;
  if (align_up(len, kPageSize) < len) return err(Errno::kENOMEM);
  len = align_up(len, kPageSize);
  if (!range_in_user(addr, len)) return err(Errno::kENOMEM);
  auto r = mm_protect(mm, addr, addr + len, prot_to_vm(prot) & VM_ACCESS_FLAGS);
  return r.ok() ? 0 : err(r.error());
}

int64_t sys_madvise(MmStruct* mm, uint64_t addr, uint64_t len, int advice) {
  if (!is_aligned(addr, kPageSize)) return err(Errno::kEINVAL);
  switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_FREE:
      break;
    default:
      return err(Errno::kEINVAL);
  }
  if (len == 0) return 0;
  len = align_up(len, kPageSize);
  if (!range_in_user(addr, len)) return err(Errno::kEINVAL);
  {
    IrqSpinLockGuard g(mm->lock);
    uint64_t at = addr;
    for (Vma* v = mm->vmas.find_vma(addr); at < addr + len; v = VmaTree::next(v)) {
      if (!v || v->start > at) return err(Errno::kENOMEM);
      at = v->end;
    }
  }
  // MADV_FREE may free lazily; freeing at once is a valid implementation.
  if (advice == MADV_DONTNEED || advice == MADV_FREE) mm_zap(mm, addr, addr + len);
  return 0;
}

namespace {

struct MoveCtx {
  MmStruct* mm;
  uint64_t delta;  // new - old
  bool failed;
};

// First pass: every destination slot exists, so the move cannot fail
// half-way.
void prealloc_one(uint64_t va, uint64_t*, void* ctx) {
  auto* c = static_cast<MoveCtx*>(ctx);
  if (!c->failed && !arch::user_pte_slot(&c->mm->pgd, va + c->delta, true)) c->failed = true;
}

void move_one(uint64_t va, uint64_t* slot, void* ctx) {
  auto* c = static_cast<MoveCtx*>(ctx);
  uint64_t* dst = arch::user_pte_slot(&c->mm->pgd, va + c->delta, false);
  arch::user_pte_set(dst, arch::user_pte_get(slot));
  arch::user_pte_set(slot, 0);
}

}  // namespace

int64_t sys_mremap(MmStruct* mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
                   uint64_t flags, uint64_t new_addr) {
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) return err(Errno::kEINVAL);
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return err(Errno::kEINVAL);
  if (!is_aligned(old_addr, kPageSize) || new_len == 0) return err(Errno::kEINVAL);
  old_len = align_up(old_len, kPageSize);
  new_len = align_up(new_len, kPageSize);
  if (!range_in_user(old_addr, old_len) || !range_in_user(0, new_len)) return err(Errno::kEINVAL);
  if (flags & MREMAP_FIXED) {
    // Moving to a caller-chosen place: unmap there, then move.
    if (!is_aligned(new_addr, kPageSize) || !range_in_user(new_addr, new_len))
      return err(Errno::kEINVAL);
    if (new_addr < old_addr + old_len && old_addr < new_addr + new_len) return err(Errno::kEINVAL);
  }
  VmaProto proto;
  {
    IrqSpinLockGuard g(mm->lock);
    Vma* v = mm->vmas.find_vma_containing(old_addr);
    if (!v || (old_len && old_addr + old_len > v->end)) return err(Errno::kEFAULT);
    proto = VmaProto{v->flags, v->file,
                     v->anonymous() ? 0 : v->pgoff + ((old_addr - v->start) >> kPageShift)};
    if (old_len == 0) return err(Errno::kEINVAL);  // shared-mapping duplication only
    if (!(flags & MREMAP_FIXED) && new_len > old_len && v->end == old_addr + old_len) {
      Vma* n = VmaTree::next(v);
      const uint64_t need_end = old_addr + new_len;
      const uint64_t gap = n && (n->flags & VM_GROWSDOWN) ? kStackGuardGap : 0;
      if ((!n || n->start >= need_end + gap) && range_in_user(old_addr, new_len)) {
        if (mm->vmas.resize_end(v, need_end).ok()) {
          mm->update_hiwater();
          return static_cast<int64_t>(old_addr);
        }
      }
    }
  }
  if (!(flags & MREMAP_FIXED) && new_len <= old_len) {
    if (new_len < old_len) {
      auto r = mm_unmap(mm, old_addr + new_len, old_addr + old_len);
      if (!r.ok()) return err(r.error());
    }
    return static_cast<int64_t>(old_addr);
  }
  if (!(flags & MREMAP_MAYMOVE)) return err(Errno::kENOMEM);
  uint64_t dst;
  if (flags & MREMAP_FIXED) {
    auto r = mm_unmap(mm, new_addr, new_addr + new_len);
    if (!r.ok()) return err(r.error());
    dst = new_addr;
  } else {
    IrqSpinLockGuard g(mm->lock);
    auto r = mm->vmas.get_unmapped_area(new_len, kMmapMinAddr, mm->mmap_base, kStackGuardGap);
    if (!r.ok()) return err(Errno::kENOMEM);
    dst = r.value();
  }
  auto mr = mm_map(mm, dst, dst + new_len, proto);
  if (!mr.ok()) return err(mr.error());
  const uint64_t moved = old_len < new_len ? old_len : new_len;
  bool fail = false;
  {
    IrqSpinLockGuard g(mm->lock);
    MoveCtx c{mm, dst - old_addr, false};
    arch::user_walk(&mm->pgd, old_addr, old_addr + moved, prealloc_one, &c);
    if (!c.failed) {
      arch::user_walk(&mm->pgd, old_addr, old_addr + moved, move_one, &c);
      arch::user_flush_tlb_range(&mm->pgd, old_addr, old_addr + moved);
    }
    if (c.failed) fail = true;
  }
  if (fail) {
    (void)mm_unmap(mm, dst, dst + new_len);
    return err(Errno::kENOMEM);
  }
  (void)mm_unmap(mm, old_addr, old_addr + old_len);
  return static_cast<int64_t>(dst);
}

}  // namespace k
