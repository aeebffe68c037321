// User page tables: roots sharing the kernel half, table pages from the
// buddy allocator, ASID allocation and switch_mm (arch/user_pgtable.h).
#include <arch/user_pgtable.h>

#include <atomic>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/tlb.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/mm/pgtable_core.h"
#include "arch/riscv/mm/pte.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "mm/accounting.h"
#include "mm/gfp.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace arch {

const uint64_t UserPte::kValid = pte::kValid;
const uint64_t UserPte::kRead = pte::kRead;
const uint64_t UserPte::kWrite = pte::kWrite;
const uint64_t UserPte::kExec = pte::kExec;
const uint64_t UserPte::kUser = pte::kUser;
const uint64_t UserPte::kAccessed = pte::kAccessed;
const uint64_t UserPte::kDirty = pte::kDirty;
const uint64_t UserPte::kCow = pte::kSoft0;

namespace {

constexpr unsigned kMaxAsidBits = 16;
unsigned g_asid_bits;
// One bit per ASID; ASID 0 is the kernel's and the fallback.
k::SpinLock g_asid_lock;
uint64_t g_asid_map[(1u << kMaxAsidBits) / 64];
unsigned g_asid_hint = 1;

uint64_t* table_at(k::PhysAddr pa) { return static_cast<uint64_t*>(phys_to_virt(pa)); }
unsigned top_level() { return g_layout.levels - 1; }
// Root entries below this index map the user half.
constexpr unsigned kUserRootEntries = pte::kEntries / 2;

k::PhysAddr alloc_table() {
  k::Page* p = k::alloc_pages(k::GFP_KERNEL | k::__GFP_ZERO | k::__GFP_NOWARN, 0);
  if (!p) return k::PhysAddr(0);
  k::account_pages(k::MM_PGTABLE, p, 0, +1);  // mm/accounting.h
  return k::page_to_phys(p);
}
void free_table(k::PhysAddr pa) {
  k::account_pages(k::MM_PGTABLE, k::phys_to_page(pa), 0, -1);
  k::__free_pages(k::phys_to_page(pa), 0);
}

unsigned asid_alloc() {
  if (g_asid_bits == 0) return 0;
  const unsigned n = 1u << g_asid_bits;
  k::IrqSpinLockGuard g(g_asid_lock);
  for (unsigned i = 0; i < n; ++i) {
    const unsigned a = (g_asid_hint + i) % n;
    if (a == 0) continue;
    if (!(g_asid_map[a / 64] & (uint64_t{1} << (a % 64)))) {
      g_asid_map[a / 64] |= uint64_t{1} << (a % 64);
      g_asid_hint = a + 1;
      return a;
    }
  }
  return 0;  // all taken: this address space flushes on every switch
}

void asid_free(unsigned a) {
  if (a == 0) return;
  k::IrqSpinLockGuard g(g_asid_lock);
  g_asid_map[a / 64] &= ~(uint64_t{1} << (a % 64));
}

// Frees empty tables below `t` (entries of `level`) within [va, last].
// Returns whether t itself is now empty.
bool prune(uint64_t* t, unsigned level, uint64_t va, uint64_t last, UserPgd* pgd) {
  for (;;) {
    const uint64_t size = pte::level_size(level);
    const uint64_t entry_last = va | (size - 1);
    const uint64_t cl = entry_last < last ? entry_last : last;
    uint64_t* slot = &t[pte::index(va, level)];
    const uint64_t e = pt_detail::get_entry(slot);
    if (level > 0 && pte::is_valid(e) && !pte::is_leaf(e)) {
      if (prune(table_at(pte::phys(e)), level - 1, va, cl, pgd)) {
        pt_detail::set_entry(slot, 0);
        free_table(pte::phys(e));
        --pgd->nr_tables;
      }
    }
    if (cl == last) break;
    va = cl + 1;
  }
  for (unsigned i = 0; i < pte::kEntries; ++i)
    if (pt_detail::get_entry(&t[i])) return false;
  return true;
}

void walk(uint64_t* t, unsigned level, uint64_t va, uint64_t last,
          void (*fn)(uint64_t, uint64_t*, void*), void* ctx) {
  for (;;) {
    const uint64_t size = pte::level_size(level);
    const uint64_t entry_last = va | (size - 1);
    const uint64_t cl = entry_last < last ? entry_last : last;
    uint64_t* slot = &t[pte::index(va, level)];
    const uint64_t e = pt_detail::get_entry(slot);
    if (pte::is_valid(e)) {
      // A valid level-0 entry is a page even without R/W/X: PROT_NONE
      // pages are kept that way (any access faults: Privileged spec
      // 4.3.2 step 4, "i < 0"), and zap, fork, mprotect and mremap must
      // still see them.
      if (pte::is_leaf(e) || level == 0)
        fn(va & ~(size - 1), slot, ctx);
      else if (level > 0)
        walk(table_at(pte::phys(e)), level - 1, va, cl, fn, ctx);
    }
    if (cl == last) return;
    va = cl + 1;
  }
}

uint64_t cpu_bit(unsigned cpu) { return uint64_t{1} << (cpu < 63 ? cpu : 63); }

// Whether no hart but this one can hold entries of `pgd`.
bool only_this_cpu(const UserPgd* pgd) {
  const uint64_t m = pgd->cpus.load(std::memory_order_acquire);
  return (m & ~cpu_bit(this_cpu())) == 0 && this_cpu() < 63;
}

void flush_range(const UserPgd* pgd, uint64_t start, uint64_t size) {
  if (only_this_cpu(pgd)) {
    // Remote harts never ran this address space: a local fence suffices
    // (and avoids an SBI RFENCE round trip to every hart).
    const unsigned long f = irq_save();
    if (pgd->asid)
      local_flush_tlb_range_asid(start, size, pgd->asid);
    else
      local_flush_tlb_all();
    irq_restore(f);
    return;
  }
  if (pgd->asid)
    flush_tlb_range_asid(start, size, pgd->asid);
  else
    flush_tlb_all();
}

}  // namespace

uint64_t user_task_size() { return uint64_t{1} << (va_bits(g_layout.levels) - 1); }

void asid_init() {
  const uint64_t old = csr_read(satp);
  csr_write(satp, old | (((uint64_t{1} << kMaxAsidBits) - 1) << 44));
  const uint64_t probed = (csr_read(satp) >> 44) & ((uint64_t{1} << kMaxAsidBits) - 1);
  csr_write(satp, old);
  local_flush_tlb_all();
  unsigned bits = 0;
  while (bits < kMaxAsidBits && (probed & (uint64_t{1} << bits))) ++bits;
  g_asid_bits = bits;
  pr_info("mm: %u ASID bits%s\n", bits, bits ? "" : " (no ASIDs: full TLB flush on every switch)");
}

unsigned asid_bits() { return g_asid_bits; }

k::Result<void> user_pgd_alloc(UserPgd* pgd) {
  const k::PhysAddr root = alloc_table();
  if (root.value() == 0) return k::Errno::kENOMEM;
  const uint64_t* kroot = table_at(g_early_boot.root_table);
  uint64_t* r = table_at(root);
  for (unsigned i = kUserRootEntries; i < pte::kEntries; ++i) r[i] = kroot[i];
  pgd->root = root;
  pgd->nr_tables = 1;
  pgd->asid = asid_alloc();
  return {};
}

void user_pgd_free(UserPgd* pgd) {
  if (pgd->root.value() == 0) return;
  // Stale entries of this ASID (or, without one, of ASID 0) may sit in
  // any hart's TLB; they must be gone before the tables and the ASID are
  // reused.
  flush_range(pgd, 0, user_task_size());
  uint64_t* r = table_at(pgd->root);
  prune(r, top_level(), 0, user_task_size() - 1, pgd);
  for (unsigned i = 0; i < kUserRootEntries; ++i) {
    if (r[i]) pr_err("mm: user root entry %u still set at teardown\n", i);
    r[i] = 0;
  }
  for (unsigned i = kUserRootEntries; i < pte::kEntries; ++i) r[i] = 0;
  free_table(pgd->root);
  --pgd->nr_tables;
  pgd->root = k::PhysAddr(0);
  asid_free(pgd->asid);
  pgd->asid = 0;
}

uint64_t* user_pte_slot(UserPgd* pgd, uint64_t va, bool alloc) {
  if (va >= user_task_size()) return nullptr;
  uint64_t* t = table_at(pgd->root);
  for (unsigned level = top_level(); level > 0; --level) {
    uint64_t* slot = &t[pte::index(va, level)];
    uint64_t e = pt_detail::get_entry(slot);
    if (!pte::is_valid(e)) {
      if (!alloc) return nullptr;
      const k::PhysAddr nt = alloc_table();
      if (nt.value() == 0) return nullptr;
      ++pgd->nr_tables;
      e = pte::make_table(nt);
      pt_detail::set_entry(slot, e);
    }
    if (pte::is_leaf(e)) return nullptr;  // user leaves are 4 KiB only
    t = table_at(pte::phys(e));
  }
  return &t[pte::index(va, 0)];
}

void user_walk(UserPgd* pgd, uint64_t start, uint64_t end, void (*fn)(uint64_t, uint64_t*, void*),
               void* ctx) {
  if (start >= end || end > user_task_size()) return;
  walk(table_at(pgd->root), top_level(), start, end - 1, fn, ctx);
}

void user_free_empty_tables(UserPgd* pgd, uint64_t start, uint64_t end) {
  if (start >= end || end > user_task_size()) return;
  // The root is never freed here (prune only frees children).
  prune(table_at(pgd->root), top_level(), start, end - 1, pgd);
}

void user_flush_tlb_range(const UserPgd* pgd, uint64_t start, uint64_t end) {
  if (start >= end) return;
  // Without an ASID the entries carry ASID 0 like everyone's: flush all.
  flush_range(pgd, start, end - start);
}

void user_flush_tlb_page_local(const UserPgd* pgd, uint64_t va) {
  local_flush_tlb_page_asid(va, pgd->asid);
}

void flush_icache_local() { asm volatile("fence.i" ::: "memory"); }

void switch_mm(UserPgd* pgd) {
  if (!pgd) {
    csr_write(satp, pte::make_satp(g_layout.levels, g_early_boot.root_table, 0));
    return;
  }
  pgd->cpus.fetch_or(cpu_bit(this_cpu()), std::memory_order_acq_rel);
  csr_write(satp, pte::make_satp(g_layout.levels, pgd->root, pgd->asid));
  // An ASID keeps its entries apart; ASID 0 is shared, so start clean.
  if (pgd->asid == 0) local_flush_tlb_all();
  // Code pages are written through the linear map (fault fills, exec) on
  // whichever hart faulted; instruction fetch on this hart must see them
  // (Zifencei: FENCE.I orders this hart's fetches after earlier stores
  // once they are visible, which the page-table locks guarantee).
  asm volatile("fence.i" ::: "memory");
}

uint64_t user_pte_make(k::PhysAddr pa, uint64_t flags) { return pte::make(pa, flags); }
k::PhysAddr user_pte_phys(uint64_t e) { return pte::phys(e); }
void user_pte_set(uint64_t* slot, uint64_t v) { pt_detail::set_entry(slot, v); }
uint64_t user_pte_get(const uint64_t* slot) { return pt_detail::get_entry(slot); }

}  // namespace arch
