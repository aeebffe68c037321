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
#include "mm/accounting.h"
#include "mm/gfp.h"
#include "mm/memblock.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

extern "C" char _start[], _etext[], _srodata[], _erodata[], _sdata[], _end[];

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
    k::account_pages(k::MM_PGTABLE, p, 0, +1);  // mm/accounting.h
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
        k::account_pages(k::MM_PGTABLE, p, 0, -1);  // mm/accounting.h
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

// The level-0 entry for va, or nullptr when no leaf table covers it;
// *large is set when a 2 MiB or 1 GiB leaf does. Caller holds g_pt_lock.
// The fast paths below use it to edit 4 KiB leaves with one walk per leaf
// table instead of the editor's general recursion per call.
uint64_t* leaf_slot(uint64_t va, bool* large = nullptr) {
  uint64_t* t = static_cast<uint64_t*>(phys_to_virt(g_early_boot.root_table));
  for (unsigned level = g_layout.levels - 1; level > 0; --level) {
    const uint64_t e = pt_detail::get_entry(&t[pte::index(va, level)]);
    if (!pte::is_valid(e)) return nullptr;
    if (pte::is_leaf(e)) {
      if (large) *large = true;
      return nullptr;
    }
    t = static_cast<uint64_t*>(phys_to_virt(pte::phys(e)));
  }
  return &t[pte::index(va, 0)];
}

// Before the page allocator (percpu_init): table pages from memblock,
// node-local to what they map. Such tables are never freed (no magic in
// their Page), and a boot mapping never unlinks one.
struct BootOps {
  int nid;
  k::PhysAddr alloc_table() {
    void* t = k::memblock.alloc(k::kPageSize, k::kPageSize, nid);
    return t ? virt_to_phys(t) : k::PhysAddr(0);
  }
  void free_table(k::PhysAddr) {}
  uint64_t* table_at(k::PhysAddr pa) { return static_cast<uint64_t*>(phys_to_virt(pa)); }
};

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

// mark_rodata_ro() (below) has run: the kernel image's mappings and the
// linear alias of its text, rodata, data and bss are final.
std::atomic<bool> g_image_locked{false};

// [a, a+asize) and [b, b+bsize) share a byte (no overflow near 2^64).
bool overlaps(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize) {
  return a <= b ? b - a < asize : a - b < bsize;
}

uint64_t linear_alias(const char* image_va) {
  return reinterpret_cast<uint64_t>(phys_to_virt(virt_to_phys(image_va)));
}

// Whether an edit of [va, va+size) would touch what mark_rodata_ro()
// locked: the image's own range, or the linear alias of text, rodata or
// data/bss (where the image's page-table pages live). The freed init
// pages in between belong to the page allocator and stay editable.
bool touches_locked(uint64_t va, uint64_t size, const char* what) {
  if (!g_image_locked.load(std::memory_order_acquire)) return false;
  const Layout& l = g_layout;
  const bool hit = overlaps(va, size, l.kernel_virt, l.kernel_size) ||
                   overlaps(va, size, linear_alias(_start), _etext - _start) ||
                   overlaps(va, size, linear_alias(_srodata), _erodata - _srodata) ||
                   overlaps(va, size, linear_alias(_sdata), _end - _sdata);
  if (hit)
    pr_err("pgtable: %s 0x%llx+0x%llx refused: the kernel image is read-only after init\n", what,
           static_cast<unsigned long long>(va), static_cast<unsigned long long>(size));
  return hit;
}

// Calls fn(pa) for every table page below the root that translates part
// of [lo, hi) (lo < hi, hi at most the end of `table`'s span).
template <typename Fn>
void for_each_table_below(const uint64_t* table, unsigned level, uint64_t lo, uint64_t hi,
                          Fn&& fn) {
  const uint64_t step = pte::level_size(level);
  for (uint64_t va = lo;;) {
    const uint64_t next = k::align_down(va, step) + step;  // 0 past the top
    const uint64_t end = next == 0 || next > hi ? hi : next;
    const uint64_t e = pt_detail::get_entry(&table[pte::index(va, level)]);
    if (level > 0 && pte::is_valid(e) && !pte::is_leaf(e)) {
      fn(pte::phys(e));
      for_each_table_below(static_cast<const uint64_t*>(phys_to_virt(pte::phys(e))), level - 1, va,
                           end, fn);
    }
    if (end == hi) break;
    va = end;
  }
}

template <typename Fn>
void for_each_image_table(Fn&& fn) {
  const Layout& l = g_layout;
  for_each_table_below(static_cast<const uint64_t*>(phys_to_virt(g_early_boot.root_table)),
                       l.levels - 1, l.kernel_virt, l.kernel_virt + l.kernel_size, fn);
}

}  // namespace

pgprot_t pgprot_io() {
  // The ISA string is fixed at boot; parse it once, not per ioremap. Racing
  // first callers store the same value.
  static std::atomic<pgprot_t> cached{0};
  pgprot_t p = cached.load(std::memory_order_relaxed);
  if (!p) {
    p = io_pte_flags();
    cached.store(p, std::memory_order_relaxed);
  }
  return p;
}

k::Result<void> map_kernel_range(k::VirtAddr va, k::PhysAddr pa, uint64_t size, pgprot_t prot,
                                 unsigned max_leaf_level) {
  if (touches_locked(va.value(), size, "map")) return k::Errno::kEPERM;
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

k::Result<void> map_kernel_range_boot(k::VirtAddr va, k::PhysAddr pa, uint64_t size, pgprot_t prot,
                                      int nid) {
  BootOps ops{nid};
  k::IrqSpinLockGuard g(g_pt_lock);
  const PtStatus st = PageTableEditor<BootOps>(g_early_boot.root_table, g_layout.levels, ops, 2)
                          .map(va.value(), pa, size, prot, kLeaf4K);
  return to_errno(st);
}

k::Result<void> map_kernel_pages(k::VirtAddr va, uint64_t count,
                                 k::PhysAddr (*pa_of)(uint64_t i, void* ctx), void* ctx,
                                 pgprot_t prot) {
  const uint64_t start = va.value();
  if (count == 0 || !va.page_aligned() || count > (~uint64_t{0} - start) / k::kPageSize ||
      !pte::is_valid(prot) || !pte::is_leaf(prot))
    return k::Errno::kEINVAL;
  KernelOps ops;
  PtStatus st = PtStatus::kOk;
  uint64_t done = 0;
  {
    k::IrqSpinLockGuard g(g_pt_lock);
    Editor ed = editor(ops);
    if (!is_canonical(start, g_layout.levels) ||
        !is_canonical(start + count * k::kPageSize - 1, g_layout.levels))
      st = PtStatus::kBadArgs;
    while (done < count && st == PtStatus::kOk) {
      const uint64_t v = start + done * k::kPageSize;
      uint64_t* slot = leaf_slot(v);
      if (!slot) {
        // Slow step: the editor maps one page, adding the tables above it.
        st = ed.map(v, pa_of(done, ctx), k::kPageSize, prot, kLeaf4K);
        if (st == PtStatus::kOk) ++done;
        continue;
      }
      // Fast steps: the rest of that leaf table by direct stores, with no
      // walk from the root per page (Linux vmap_pte_range).
      for (unsigned idx = pte::index(v, 0); idx < pte::kEntries && done < count; ++idx, ++slot) {
        if (pt_detail::get_entry(slot)) {
          st = PtStatus::kAlreadyMapped;
          break;
        }
        pt_detail::set_entry(slot, pte::make(pa_of(done, ctx), prot));
        ++done;
      }
    }
    if (st != PtStatus::kOk && done) ed.unmap(start, done * k::kPageSize);
  }
  if (st != PtStatus::kOk) {
    // What was mapped is gone again; its tables and leaves may sit in
    // this hart's or another hart's TLB only if they were ever used, which
    // nothing did before this returned; still flush before freeing tables.
    finish_edit(ops, start, count * k::kPageSize);
    pr_err("pgtable: map of %llu pages at 0x%llx failed: %s\n",
           static_cast<unsigned long long>(count), static_cast<unsigned long long>(start),
           pt_status_name(st));
  }
  return to_errno(st);
}

void unmap_kernel_range_noflush(k::VirtAddr va, uint64_t size) {
  KernelOps ops;
  PtStatus st = PtStatus::kOk;
  const uint64_t start = va.value();
  if (!va.page_aligned() || !k::is_aligned(size, k::kPageSize) || size == 0 ||
      start + size < start || !is_canonical(start, g_layout.levels) ||
      !is_canonical(start + size - 1, g_layout.levels)) {
    st = PtStatus::kBadArgs;
  } else {
    k::IrqSpinLockGuard g(g_pt_lock);
    const uint64_t end = start + size;
    const uint64_t table_span = pte::level_size(1);
    for (uint64_t v = start; v < end;) {
      bool large = false;
      uint64_t* slot = leaf_slot(v, &large);
      if (large) {
        // A 2 MiB/1 GiB leaf (ioremap): the editor splits it if needed.
        st = editor(ops).unmap_keep_tables(v, end - v);
        break;
      }
      const uint64_t table_end = k::align_down(v, table_span) + table_span;
      const uint64_t stop = table_end < end && table_end > v ? table_end : end;
      if (slot)
        for (; v < stop; v += k::kPageSize, ++slot) pt_detail::set_entry(slot, 0);
      v = stop;  // no leaf table: nothing mapped up to its end
    }
  }
  if (st != PtStatus::kOk)
    pr_err("pgtable: unmap 0x%llx+0x%llx incomplete: %s\n",
           static_cast<unsigned long long>(va.value()), static_cast<unsigned long long>(size),
           pt_status_name(st));
}

void flush_and_prune_kernel_ranges(uint64_t lo, uint64_t size,
                                   bool (*next)(void* ctx, uint64_t* va, uint64_t* len),
                                   void* ctx) {
  KernelOps ops;
  uint64_t va, len;
  // Consecutive ranges in one leaf table (the usual case: areas freed one
  // after the other) need that table checked once; checking means scanning
  // it for a live entry.
  const uint64_t span = pte::level_size(1);
  uint64_t last_table = 1;  // never a table address: those are aligned
  while (next(ctx, &va, &len)) {
    const uint64_t first = k::align_down(va, span), final = k::align_down(va + len - 1, span);
    if (first == final && first == last_table) continue;
    last_table = final;
    k::IrqSpinLockGuard g(g_pt_lock);
    editor(ops).prune(va, len);
  }
  finish_edit(ops, lo, size);
}

void unmap_kernel_range(k::VirtAddr va, uint64_t size) {
  if (touches_locked(va.value(), size, "unmap")) return;
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
  if (touches_locked(va.value(), size, "protect")) return k::Errno::kEPERM;
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
  if (touches_locked(va.value(), k::kPageSize, "remap")) return k::Errno::kEPERM;
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
  // range and of the per-CPU region above it gets its second-level table
  // now, so later kernel mappings never add root entries that user page
  // tables (copies of the kernel half) would miss.
  const unsigned top = g_layout.levels - 1;
  const uint64_t step = pte::level_size(top);
  uint64_t* root = static_cast<uint64_t*>(phys_to_virt(g_early_boot.root_table));
  KernelOps ops;
  unsigned added = 0;
  k::IrqSpinLockGuard g(g_pt_lock);
  for (uint64_t va = k::align_down(g_layout.vmalloc_start, step);
       va < g_layout.percpu_end && va >= k::align_down(g_layout.vmalloc_start, step); va += step) {
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

bool mark_rodata_ro() {
  const Layout& l = g_layout;
  bool ok = true;
  const auto protect = [&](uint64_t va, uint64_t size) {
    if (!protect_kernel_range(k::VirtAddr(va), size, PAGE_KERNEL_RO).ok()) {
      pr_err("pgtable: cannot make 0x%llx+0x%llx read-only\n", static_cast<unsigned long long>(va),
             static_cast<unsigned long long>(size));
      ok = false;
    }
  };
  // The image's table pages (early boot took them from the .bss pool):
  // first their image alias, written through their still-writable linear
  // alias; then the linear aliases, which only edits linear-map tables.
  // Nothing else edits the image's subtree meanwhile (its mappings are
  // final once free_init_sections() ran), so the walks need no lock.
  unsigned tables = 0, in_image = 0;
  for_each_image_table([&](k::PhysAddr pa) {
    ++tables;
    if (pa.value() - l.kernel_phys < l.kernel_size) {
      ++in_image;
      protect(l.kernel_virt + (pa.value() - l.kernel_phys), k::kPageSize);
    }
  });
  for_each_image_table(
      [&](k::PhysAddr pa) { protect(reinterpret_cast<uint64_t>(phys_to_virt(pa)), k::kPageSize); });
  // Text and rodata are read-only in the image already (W^X); their linear
  // alias was RW until now (Linux does the same in mark_rodata_ro()).
  protect(linear_alias(_start), static_cast<uint64_t>(_etext - _start));
  protect(linear_alias(_srodata), static_cast<uint64_t>(_erodata - _srodata));
  g_image_locked.store(true, std::memory_order_release);
  pr_info(
      "pgtable: kernel text/rodata read-only in the linear map; %u page-table pages of the image "
      "(%u in .bss) read-only%s\n",
      tables, in_image, ok ? "" : " (incomplete, see above)");
  return ok;
}

bool rodata_ro_done() { return g_image_locked.load(std::memory_order_acquire); }

void for_each_kernel_image_table(void (*fn)(k::PhysAddr pa, void* ctx), void* ctx) {
  for_each_image_table([&](k::PhysAddr pa) { fn(pa, ctx); });
}

uint64_t nr_kernel_pgtable_pages() { return g_nr_tables.load(std::memory_order_relaxed); }

}  // namespace arch
