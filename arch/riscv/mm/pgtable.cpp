// The kernel page table on top of the generic editor (pgtable_core.h):
// table pages from the buddy allocator, reached through the linear map,
// freed only after the TLB shootdown that follows their unlinking.
#include <arch/pgtable.h>

#include <atomic>

#include <arch/io.h>
#include <arch/memory.h>
#include <arch/tlb.h>

#include "arch/riscv/boot/early.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "mm/gfp.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace arch {
namespace {

// Marks table pages this layer allocated (Page::private_data), so that
// tables early boot took from BSS or memblock are never handed to the
// buddy allocator when they empty.
constexpr uint64_t kPgtableMagic = 0x5054424c'50474454ull;  // "PGDTPTBL"

// Lock rank: innermost of mm (taken inside the vmalloc lock; takes only
// the zone/pcp locks through alloc_pages).
k::SpinLock g_pt_lock;
std::atomic<uint64_t> g_nr_tables{0};

struct KernelOps {
  // Tables unlinked during one edit; chained through their first word
  // (they are all-zero) until the TLB shootdown has happened.
  k::PhysAddr deferred{0};
  unsigned nr_deferred = 0;

  k::PhysAddr alloc_table() {
    k::Page* p = k::alloc_pages(k::GFP_KERNEL | k::__GFP_ZERO | k::__GFP_NOWARN, 0);
    if (!p) return k::PhysAddr(0);
    p->private_data = kPgtableMagic;
    g_nr_tables.fetch_add(1, std::memory_order_relaxed);
    return k::page_to_phys(p);
  }
  void free_table(k::PhysAddr pa) {
    *static_cast<uint64_t*>(phys_to_virt(pa)) = deferred.value();
    deferred = pa;
    ++nr_deferred;
  }
  uint64_t* table_at(k::PhysAddr pa) { return static_cast<uint64_t*>(phys_to_virt(pa)); }

  // After the shootdown: no walker can hold these any more.
  void release_deferred() {
    while (deferred.value()) {
      uint64_t* t = table_at(deferred);
      const k::PhysAddr next(t[0]);
      t[0] = 0;
      k::Page* p = k::phys_to_page(deferred);
      if (p && p->private_data == kPgtableMagic) {
        p->private_data = 0;
        g_nr_tables.fetch_sub(1, std::memory_order_relaxed);
        k::__free_pages(p, 0);
      } else {
        pr_debug("pgtable: boot-time table page 0x%llx emptied; not returned\n",
                 static_cast<unsigned long long>(deferred.value()));
      }
      deferred = next;
    }
    nr_deferred = 0;
  }
};

using Editor = PageTableEditor<KernelOps>;

// keep_levels 2: the root and its direct children stay (see header).
Editor editor(KernelOps& ops) { return Editor(g_early_boot.root_table, g_layout.levels, ops, 2); }

k::Errno to_errno(PtStatus s) {
  switch (s) {
    case PtStatus::kOk:
      return k::Errno::kOk;
    case PtStatus::kNoMemory:
      return k::Errno::kENOMEM;
    case PtStatus::kAlreadyMapped:
      return k::Errno::kEEXIST;
    case PtStatus::kBadArgs:
      return k::Errno::kEINVAL;
  }
  return k::Errno::kEINVAL;
}

// Shootdown for [va, va+size), then the deferred table pages. A freed
// non-leaf entry is only guaranteed gone after a full sfence.vma (an
// address-specific one covers leaf entries only, Privileged spec 4.2.1).
void finish_edit(KernelOps& ops, uint64_t va, uint64_t size) {
  if (ops.nr_deferred)
    flush_tlb_all();
  else
    flush_tlb_kernel_range(va, size);
  ops.release_deferred();
}

}  // namespace

pgprot_t pgprot_io() { return io_pte_flags(); }

k::Result<void> map_kernel_range(k::VirtAddr va, k::PhysAddr pa, uint64_t size, pgprot_t prot,
                                 unsigned max_leaf_level) {
  KernelOps ops;
  PtStatus st;
  {
    k::IrqSpinLockGuard g(g_pt_lock);
    st = editor(ops).map(va.value(), pa, size, prot, max_leaf_level);
  }
  // A failed map frees the tables it added; they were never visible to
  // another user of the range, but may sit in a walk cache.
  if (ops.nr_deferred) finish_edit(ops, va.value(), size);
  if (st != PtStatus::kOk && st != PtStatus::kAlreadyMapped)
    pr_err("pgtable: map 0x%llx+0x%llx failed: %s\n", static_cast<unsigned long long>(va.value()),
           static_cast<unsigned long long>(size), pt_status_name(st));
  return to_errno(st);
}

void unmap_kernel_range(k::VirtAddr va, uint64_t size) {
  KernelOps ops;
  PtStatus st;
  {
    k::IrqSpinLockGuard g(g_pt_lock);
    st = editor(ops).unmap(va.value(), size);
  }
  finish_edit(ops, va.value(), size);
  if (st != PtStatus::kOk)
    pr_err("pgtable: unmap 0x%llx+0x%llx incomplete: %s\n",
           static_cast<unsigned long long>(va.value()), static_cast<unsigned long long>(size),
           pt_status_name(st));
}

k::Result<void> protect_kernel_range(k::VirtAddr va, uint64_t size, pgprot_t prot) {
  KernelOps ops;
  PtStatus st;
  {
    k::IrqSpinLockGuard g(g_pt_lock);
    st = editor(ops).protect(va.value(), size, prot);
  }
  finish_edit(ops, va.value(), size);
  return to_errno(st);
}

k::Result<void> remap_kernel_page(k::VirtAddr va, k::PhysAddr pa, pgprot_t prot) {
  if (!va.page_aligned() || !pa.page_aligned() || !pte::is_valid(prot) || !pte::is_leaf(prot))
    return k::Errno::kEINVAL;
  k::IrqSpinLockGuard g(g_pt_lock);
  uint64_t* t = static_cast<uint64_t*>(phys_to_virt(g_early_boot.root_table));
  if (!is_canonical(va.value(), g_layout.levels)) return k::Errno::kEINVAL;
  for (unsigned level = g_layout.levels - 1; level > 0; --level) {
    const uint64_t e = pt_detail::get_entry(&t[pte::index(va.value(), level)]);
    if (!pte::is_valid(e) || pte::is_leaf(e)) return k::Errno::kENOENT;
    t = static_cast<uint64_t*>(phys_to_virt(pte::phys(e)));
  }
  uint64_t* slot = &t[pte::index(va.value(), 0)];
  if (!pte::is_valid(pt_detail::get_entry(slot))) return k::Errno::kENOENT;
  pt_detail::set_entry(slot, pte::make(pa, prot));
  return {};
}

namespace {

// The level-0 slot of va, or nullptr (with *leaf_level set) if a larger
// leaf or nothing maps it. An absent KFENCE page (V clear, other bits kept)
// counts as mapped. g_pt_lock held.
uint64_t* kernel_pte_slot(uint64_t va, unsigned* leaf_level) {
  uint64_t* t = static_cast<uint64_t*>(phys_to_virt(g_early_boot.root_table));
  *leaf_level = ~0u;
  for (unsigned level = g_layout.levels - 1; level > 0; --level) {
    const uint64_t e = pt_detail::get_entry(&t[pte::index(va, level)]);
    if (!pte::is_valid(e)) return nullptr;
    if (pte::is_leaf(e)) {
      *leaf_level = level;
      return nullptr;
    }
    t = static_cast<uint64_t*>(phys_to_virt(pte::phys(e)));
  }
  uint64_t* slot = &t[pte::index(va, 0)];
  if (!pte::is_leaf(pt_detail::get_entry(slot))) return nullptr;
  *leaf_level = 0;
  return slot;
}

}  // namespace

k::Result<void> set_kernel_page_present(k::VirtAddr va, bool present) {
  if (!va.page_aligned() || !is_canonical(va.value(), g_layout.levels)) return k::Errno::kEINVAL;
  KernelOps ops;
  bool split = false;
  {
    k::IrqSpinLockGuard g(g_pt_lock);
    unsigned level;
    uint64_t* slot = kernel_pte_slot(va.value(), &level);
    if (!slot && level != ~0u) {
      // A large leaf: re-flagging one 4 KiB page of it with its own flags
      // splits it down to 4 KiB leaves (pgtable_core.h) and changes nothing else.
      const auto leaf = editor(ops).lookup(va.value());
      if (!leaf) return k::Errno::kENOENT;
      const PtStatus st =
          editor(ops).protect(va.value(), k::kPageSize, pt_detail::entry_flags(leaf->pte));
      if (st != PtStatus::kOk) return to_errno(st);
      split = true;
      slot = kernel_pte_slot(va.value(), &level);
    }
    if (!slot) return k::Errno::kENOENT;
    const uint64_t e = pt_detail::get_entry(slot);
    pt_detail::set_entry(slot, present ? e | pte::kValid : e & ~pte::kValid);
  }
  if (split)
    finish_edit(ops, va.value(), k::kPageSize);
  else
    local_flush_tlb_range(va.value(), k::kPageSize);  // honours the flush-all quirk
  return {};
}

std::optional<KernelPte> lookup_kernel_address(k::VirtAddr va) {
  KernelOps ops;
  k::IrqSpinLockGuard g(g_pt_lock);
  return editor(ops).lookup(va.value());
}

void walk_kernel_range(k::VirtAddr va, uint64_t size,
                       void (*fn)(uint64_t, uint64_t, unsigned, void*), void* ctx) {
  KernelOps ops;
  k::IrqSpinLockGuard g(g_pt_lock);
  editor(ops).for_each_leaf(
      va.value(), size, [&](uint64_t lva, uint64_t e, unsigned level) { fn(lva, e, level, ctx); });
}

bool pgtable_init() {
  tlb_init();
  // Linux preallocate_pgd_pages_range(): every root entry of the vmalloc
  // range gets its second-level table now, so later kernel mappings never
  // add root entries that user page tables (copies of the kernel half)
  // would miss.
  const unsigned top = g_layout.levels - 1;
  const uint64_t step = pte::level_size(top);
  uint64_t* root = static_cast<uint64_t*>(phys_to_virt(g_early_boot.root_table));
  KernelOps ops;
  unsigned added = 0;
  k::IrqSpinLockGuard g(g_pt_lock);
  for (uint64_t va = k::align_down(g_layout.vmalloc_start, step);
       va < g_layout.vmalloc_end && va >= k::align_down(g_layout.vmalloc_start, step); va += step) {
    uint64_t* slot = &root[pte::index(va, top)];
    if (pt_detail::get_entry(slot)) continue;
    const k::PhysAddr t = ops.alloc_table();
    if (t.value() == 0) {
      pr_err("pgtable: no memory to preallocate the vmalloc tables (%u done)\n", added);
      return false;
    }
    pt_detail::set_entry(slot, pte::make_table(t));
    ++added;
  }
  pr_info(
      "pgtable: %s kernel page table at 0x%llx; %u second-level tables preallocated for vmalloc\n",
      g_layout.levels == 3 ? "Sv39" : "Sv48",
      static_cast<unsigned long long>(g_early_boot.root_table.value()), added);
  return true;
}

uint64_t nr_kernel_pgtable_pages() { return g_nr_tables.load(std::memory_order_relaxed); }

}  // namespace arch
