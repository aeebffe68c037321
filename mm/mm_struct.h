// A user address space (Linux struct mm_struct): the VMA tree, the page
// table and the accounting /proc/<pid>/status shows.
//
// Pages: every present user PTE holds one reference on its struct page
// (Page::refcount). fork shares pages read-only and takes a reference per
// mapping (copy-on-write); the last reference frees the page. RSS is kept
// in two counters, RssAnon and RssFile (pages copied in from a file and
// not yet written, marked in the PTE).
//
// Locking: one IRQ-safe spinlock per mm (rank: outside the page-table
// and page allocator locks) serialises VMA and PTE edits. Processes have
// one thread, so the lock is mostly uncontended; readers of the counters
// (ps) do not take it.
#pragma once

#include <atomic>
#include <cstdint>

#include <arch/user_pgtable.h>

#include "lib/result.h"
#include "lib/spinlock.h"
#include "mm/vma.h"

namespace k {

// Stack Clash guard gap between a stack and the mapping below it (Linux
// stack_guard_gap default: 256 pages).
inline constexpr uint64_t kStackGuardGap = 256 * kPageSize;
// Default RLIMIT_STACK (8 MiB, Linux _STK_LIM).
inline constexpr uint64_t kStackLimit = 8ull << 20;
// Lowest mappable address (Linux vm.mmap_min_addr default on riscv).
inline constexpr uint64_t kMmapMinAddr = 4096;

struct MmStruct {
  SpinLock lock;
  VmaTree vmas;
  arch::UserPgd pgd;
  std::atomic<int> users{1};

  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
  uint64_t start_brk = 0, brk = 0;
  uint64_t start_stack = 0;  // initial sp
  uint64_t stack_top = 0;    // exclusive end of the stack VMA
  uint64_t mmap_base = 0;    // mmap areas go below this (top-down)
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;

  std::atomic<int64_t> rss_anon{0};
  std::atomic<int64_t> rss_file{0};
  uint64_t hiwater_vm = 0;   // VmPeak, pages
  uint64_t hiwater_rss = 0;  // VmHWM, pages

  explicit MmStruct(const VmaAllocator& a) : vmas(a) {}
  uint64_t rss() const { return static_cast<uint64_t>(rss_anon.load() + rss_file.load()); }
  void update_hiwater() {
    if (vmas.total_pages() > hiwater_vm) hiwater_vm = vmas.total_pages();
    if (rss() > hiwater_rss) hiwater_rss = rss();
  }
};

// Creates the mm_struct and vm_area_struct caches (boot, before the
// first process). false without memory.
bool mm_struct_init();

// A new address space with an empty user half. nullptr without memory.
MmStruct* mm_alloc();
// Drops a reference; the last one unmaps everything and frees the mm.
// The mm must not be live on this hart (switch_mm away first).
void mmput(MmStruct* mm);
// fork: a copy-on-write duplicate. nullptr without memory (nothing leaks).
MmStruct* dup_mm(MmStruct* parent);

// Maps [start, end) with `proto` (no pages are populated). The range must
// be free. Errors as VmaTree::map.
Result<Vma*> mm_map(MmStruct* mm, uint64_t start, uint64_t end, const VmaProto& proto);
// munmap: removes VMAs and pages in [start, end).
Result<void> mm_unmap(MmStruct* mm, uint64_t start, uint64_t end);
// mprotect on [start, end): VMAs and present PTEs.
Result<void> mm_protect(MmStruct* mm, uint64_t start, uint64_t end, vm_flags_t access);
// MADV_DONTNEED: drops the pages, keeps the VMAs (next touch zero-fills
// or re-reads the file).
void mm_zap(MmStruct* mm, uint64_t start, uint64_t end);
// Populates every page of [start, end) as a fault would (MAP_POPULATE).
Result<void> mm_populate(MmStruct* mm, uint64_t start, uint64_t end, bool write);

// Page-table pages of the process (VmPTE), pages.
inline uint64_t mm_pgtable_pages(const MmStruct* mm) { return mm->pgd.nr_tables; }

// Live MmStruct objects (self-test leak counter).
uint64_t mm_live_count();

// Lock-held internals shared with mm/fault.cpp.
namespace mm_detail {
// Drops the pages of [start, end) (lock held), flushing before freeing.
void zap_locked(MmStruct* mm, uint64_t start, uint64_t end);
// Leaf flags for a page of `vma` (writable only if `writable`).
uint64_t pte_flags_for(vm_flags_t flags, bool writable);
// PTE software bit: the page was copied from a file (RssFile).
uint64_t file_pte_bit();
}  // namespace mm_detail

}  // namespace k
