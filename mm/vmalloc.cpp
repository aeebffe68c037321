// vmalloc, vmap and the vm-area layer under ioremap and kernel stacks.
// See vmalloc.h.
#include "mm/vmalloc.h"

#include <atomic>
#include <new>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/pgtable.h>
#include <arch/tlb.h>

#include "kernel/printk.h"
#include "lib/format.h"
#include "lib/spinlock.h"
#include "lib/types.h"
#include "mm/accounting.h"
#include "mm/fault_inject.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace k {
namespace {

// Lock rank: outermost of vmalloc. Held only for area bookkeeping; page
// allocation and page-table edits happen outside it (the node pool below
// refills from the page allocator inside it, which is irq-safe).
SpinLock g_vmap_lock;
VmapAllocator g_areas;
bool g_ready;
std::atomic<uint64_t> g_vmalloc_pages{0};
// Freed areas whose ranges wait for a TLB purge (still busy in g_areas so
// that nothing reuses them); under g_vmap_lock.
VmapArea* g_lazy_list;
uint64_t g_nr_lazy;
uint64_t g_lazy_pages;

// Purged small areas wait in per-size pools for reuse (Linux >= 6.9
// vmap_node pool[]): a vmalloc of a common size then pops one instead of
// splitting the free tree, and its page tables are still there. Pooled
// areas stay busy in g_areas, marked VM_FREEING so that lookups ignore
// them; a failed allocation drains the pools back into the free tree.
// At most lazy_max_pages() pages of address space are pooled: what one
// purge hands back.
constexpr unsigned kPoolMaxPages = 32;   // area sizes (guards included) pooled
constexpr unsigned kPoolMaxAreas = 512;  // over all sizes
// A purge also comes after this many lazily freed areas, whatever their
// size: each holds a descriptor.
constexpr unsigned kLazyMaxAreas = 512;
// Spare descriptors kept after a purge found the pool short.
constexpr unsigned kDescriptorHeadroom = 128;
struct SizePool {
  VmapArea* head;
  unsigned n;
};
SizePool g_size_pools[kPoolMaxPages + 1];
uint64_t g_nr_pooled;
uint64_t g_pooled_pages;

// Under g_vmap_lock: a pooled area of `pages` pages, or nullptr.
VmapArea* pool_pop(uint64_t pages) {
  if (pages > kPoolMaxPages) return nullptr;
  SizePool& p = g_size_pools[pages];
  VmapArea* a = p.head;
  if (!a) return nullptr;
  p.head = a->purge_next;
  --p.n;
  --g_nr_pooled;
  g_pooled_pages -= pages;
  a->purge_next = nullptr;
  a->page_ring = nullptr;
  a->nr_pages = 0;
  a->phys_addr = 0;
  return a;
}

// Under g_vmap_lock: keeps a purged area for reuse, or frees it.
void pool_or_free(VmapArea* a) {
  const uint64_t pages = a->area_size() / kPageSize;
  if (pages <= kPoolMaxPages && g_nr_pooled < kPoolMaxAreas &&
      g_pooled_pages + pages <= lazy_max_pages()) {
    SizePool& p = g_size_pools[pages];
    a->purge_next = p.head;
    p.head = a;
    ++p.n;
    ++g_nr_pooled;
    g_pooled_pages += pages;
    return;
  }
  g_areas.free(a);
}

// Under g_vmap_lock: every pooled area back to the free tree.
void drain_pools() {
  for (SizePool& p : g_size_pools) {
    while (VmapArea* a = p.head) {
      p.head = a->purge_next;
      g_areas.free(a);
    }
    p.n = 0;
  }
  g_nr_pooled = 0;
  g_pooled_pages = 0;
}

// Area descriptors, carved from whole pages and recycled, never returned
// (like Linux's vmap_area_cachep keeps its slabs). vmalloc_init() sizes
// the pool for kPoolInitialPages * 4096 / sizeof(VmapArea) areas (about
// 1460), enough for the live areas of ordinary use plus the lazily freed
// (at most kLazyMaxAreas) and pooled (kPoolMaxAreas) ones, so that
// ordinary use never changes the number of free pages; beyond that it
// grows a page at a time, but only for live areas: get_vm_area() purges
// and drains the size pools first. Only used under g_vmap_lock.
constexpr unsigned kPoolInitialPages = 40;

struct NodePool {
  VmapArea* free_list = nullptr;  // chained through `right`
  uint64_t pages = 0;
  uint64_t nfree = 0;

  bool grow() {
    void* page = __get_free_page(GFP_ATOMIC | __GFP_NOWARN);
    if (!page) return false;
    ++pages;
    auto* nodes = static_cast<VmapArea*>(page);
    for (size_t i = 0; i < kPageSize / sizeof(VmapArea); ++i) {
      VmapArea* n = new (&nodes[i]) VmapArea;
      n->right = free_list;
      free_list = n;
      ++nfree;
    }
    return true;
  }
  static VmapArea* alloc(void* ctx) {
    auto* pool = static_cast<NodePool*>(ctx);
    if (!pool->free_list && !pool->grow()) return nullptr;
    VmapArea* n = pool->free_list;
    pool->free_list = n->right;
    --pool->nfree;
    return n;
  }
  static void free(void* ctx, VmapArea* n) {
    auto* pool = static_cast<NodePool*>(ctx);
    n->right = pool->free_list;
    pool->free_list = n;
    ++pool->nfree;
  }
};
NodePool g_pool;

// The pages of a vmalloc area form a ring through Page::lru, which the
// page allocator leaves unused while a page is allocated.
void ring_add(Page*& ring, Page* p) {
  if (!ring) {
    p->lru.next = p->lru.prev = &p->lru;
    ring = p;
    return;
  }
  ListNode* head = &ring->lru;
  p->lru.prev = head->prev;
  p->lru.next = head;
  head->prev->next = &p->lru;
  head->prev = &p->lru;
}

void ring_free(Page*& ring) {
  while (ring) {
    Page* p = ring;
    ListNode* next = p->lru.next;
    ring = next == &p->lru ? nullptr : page_from_lru(next);
    p->lru.unlink();
    account_pages(MM_VMALLOC, p, 0, -1);  // mm/accounting.h
    __free_pages(p, 0);
  }
}

bool in_range(uint64_t va) {
  return va >= arch::g_layout.vmalloc_start && va < arch::g_layout.vmalloc_end;
}

// Takes the lazy list, flushes every hart once for the span it covers
// (usually a full flush), then frees the ranges.
void purge_lazy() {
  VmapArea* list;
  uint64_t lo = ~uint64_t{0}, hi = 0;
  {
    IrqSpinLockGuard g(g_vmap_lock);
    list = g_lazy_list;
    g_lazy_list = nullptr;
    for (VmapArea* a = list; a; a = a->purge_next) {
      if (a->va_start < lo) lo = a->va_start;
      if (a->va_end > hi) hi = a->va_end;
    }
  }
  if (!list) return;
  // Tables the lazily unmapped ranges emptied go now, after the flush.
  VmapArea* cursor = list;
  arch::flush_and_prune_kernel_ranges(
      lo, hi - lo,
      [](void* ctx, uint64_t* va, uint64_t* len) {
        VmapArea*& c = *static_cast<VmapArea**>(ctx);
        if (!c) return false;
        *va = c->va_start;
        *len = c->area_size();
        c = c->purge_next;
        return true;
      },
      &cursor);
  IrqSpinLockGuard g(g_vmap_lock);
  while (list) {
    VmapArea* next = list->purge_next;
    --g_nr_lazy;
    g_lazy_pages -= list->area_size() / kPageSize;
    pool_or_free(list);
    list = next;
  }
}

// The teardown shared by vfree, vunmap and iounmap: PTEs cleared, this
// hart flushed (a use-after-free here faults at once), the range queued
// for the next purge.
void unmap_lazy(VmapArea* a) {
  arch::unmap_kernel_range_noflush(VirtAddr(a->addr), a->size);
  arch::local_flush_tlb_range(a->addr, a->size);
}

void queue_lazy(VmapArea* a) {
  bool purge;
  {
    IrqSpinLockGuard g(g_vmap_lock);
    a->purge_next = g_lazy_list;
    g_lazy_list = a;
    ++g_nr_lazy;
    g_lazy_pages += a->area_size() / kPageSize;
    purge = g_lazy_pages > lazy_max_pages() || g_nr_lazy > kLazyMaxAreas;
  }
  if (purge) purge_lazy();
}

// pa_of for map_kernel_pages over a page ring (called in order of i).
PhysAddr next_ring_page(uint64_t, void* ctx) {
  Page*& cur = *static_cast<Page**>(ctx);
  const PhysAddr pa = page_to_phys(cur);
  cur = page_from_lru(cur->lru.next);
  return pa;
}

PhysAddr page_array_pa(uint64_t i, void* ctx) {
  return page_to_phys(static_cast<Page* const*>(ctx)[i]);
}

void warn_alloc(uint64_t size, gfp_t gfp, const char* why) {
  if (gfp & __GFP_NOWARN) return;
  pr_warn("vmalloc: allocation failure: %llu bytes, %s\n", static_cast<unsigned long long>(size),
          why);
}

}  // namespace

bool vmalloc_init() {
  if (g_ready) return true;
  if (!arch::pgtable_init()) return false;
  // The first page of the range stays unmapped for good: whatever lies
  // below vmalloc_start, the first area still has a guard page under it.
  const uint64_t start = arch::g_layout.vmalloc_start + kPageSize;
  {
    IrqSpinLockGuard g(g_vmap_lock);
    for (unsigned i = 0; i < kPoolInitialPages; ++i) g_pool.grow();
    if (!g_areas.init(start, arch::g_layout.vmalloc_end,
                      {&NodePool::alloc, &NodePool::free, &g_pool})) {
      pr_err("vmalloc: cannot allocate the first area descriptor\n");
      return false;
    }
    g_ready = true;
  }
  pr_info("vmalloc: [0x%llx-0x%llx) %llu GiB, guard page after every area\n",
          static_cast<unsigned long long>(arch::g_layout.vmalloc_start),
          static_cast<unsigned long long>(arch::g_layout.vmalloc_end),
          static_cast<unsigned long long>(
              (arch::g_layout.vmalloc_end - arch::g_layout.vmalloc_start) >> 30));
  return true;
}

bool vmalloc_ready() { return g_ready; }

VmapArea* get_vm_area(uint64_t size, uint64_t align, uint64_t vm_flags, const void* caller) {
  if (!g_ready || size == 0) return nullptr;
  const uint64_t mapped = align_up(size, kPageSize);
  const uint64_t guards = (vm_flags & VM_GUARD_BELOW) ? 2 * kPageSize : kPageSize;
  if (mapped < size || mapped + guards < mapped) return nullptr;
  if (align < kPageSize) align = kPageSize;
  if (!is_pow2(align)) return nullptr;
  VmapArea* a;
  for (int attempt = 0;; ++attempt) {
    {
      IrqSpinLockGuard g(g_vmap_lock);
      a = align == kPageSize ? pool_pop((mapped + guards) / kPageSize) : nullptr;
      // The tree may need two descriptors; rather than grow the descriptor
      // pool while freed areas hold some, purge and drain first.
      const bool held = g_lazy_list || g_nr_pooled;
      if (!a && (attempt || g_pool.nfree >= 2 || !held)) a = g_areas.alloc(mapped + guards, align);
      if (a || attempt || !held) break;
    }
    // Freed ranges may make room once purged and merged.
    purge_lazy();
    IrqSpinLockGuard g(g_vmap_lock);
    drain_pools();
    // Still short: the live areas need the descriptors. Grow with some
    // headroom so that the next few frees do not purge again at once.
    while (g_pool.nfree < kDescriptorHeadroom && g_pool.grow()) {
    }
  }
  if (!a) return nullptr;
  a->flags = vm_flags & ~VM_FREEING;
  a->size = mapped;
  a->addr = a->va_start + ((vm_flags & VM_GUARD_BELOW) ? kPageSize : 0);
  a->caller = caller;
  return a;
}

void free_vm_area(VmapArea* area) {
  if (!area) return;
  IrqSpinLockGuard g(g_vmap_lock);
  g_areas.free(area);
}

VmapArea* find_vm_area(const void* addr) {
  const uint64_t va = reinterpret_cast<uint64_t>(addr);
  if (!g_ready || !in_range(va)) return nullptr;
  IrqSpinLockGuard g(g_vmap_lock);
  VmapArea* a = g_areas.find_busy_containing(va);
  return a && a->addr == va && !(a->flags & VM_FREEING) ? a : nullptr;
}

void* __vmalloc_node(size_t size, size_t align, gfp_t gfp, int node, uint64_t vm_flags,
                     const void* caller) {
  if (size == 0) return nullptr;
  if (should_fail_vmalloc(size, gfp)) return nullptr;  // mm/fault_inject.h
  if (!g_ready) {
    warn_alloc(size, gfp, "called before vmalloc_init()");
    return nullptr;
  }
  if (size > arch::g_layout.vmalloc_end - arch::g_layout.vmalloc_start) {
    warn_alloc(size, gfp, "larger than the vmalloc range");
    return nullptr;
  }
  VmapArea* a = get_vm_area(size, align, VM_ALLOC | (vm_flags & VM_GUARD_BELOW), caller);
  if (!a) {
    warn_alloc(size, gfp, "no free virtual range");
    return nullptr;
  }
  const uint64_t nr = a->size / kPageSize;
  Page* ring = nullptr;
  for (uint64_t i = 0; i < nr; ++i) {
    Page* p = alloc_pages_node(node, gfp & ~__GFP_COMP, 0);
    if (!p) {
      warn_alloc(size, gfp, "out of pages");
      ring_free(ring);
      free_vm_area(a);
      return nullptr;
    }
    account_pages(MM_VMALLOC, p, 0, +1);  // mm/accounting.h
    ring_add(ring, p);
  }
  Page* cursor = ring;
  if (!arch::map_kernel_pages(VirtAddr(a->addr), nr, next_ring_page, &cursor, arch::PAGE_KERNEL)) {
    warn_alloc(size, gfp, "out of page-table pages");
    ring_free(ring);
    free_vm_area(a);  // nothing stayed mapped: no TLB entry to purge
    return nullptr;
  }
  a->page_ring = ring;
  a->nr_pages = nr;
  // A kernel stack is touched by the trap entry, which cannot take the
  // spurious-fault fixup on it: that one is flushed everywhere.
  if (vm_flags & VM_GUARD_BELOW)
    arch::flush_cache_vmap_all_harts(a->addr, a->size);
  else
    arch::flush_cache_vmap(a->addr, a->size);
  g_vmalloc_pages.fetch_add(nr, std::memory_order_relaxed);
  return reinterpret_cast<void*>(a->addr);
}

void* vmalloc(size_t size) {
  return __vmalloc_node(size, kPageSize, GFP_KERNEL, -1, 0, __builtin_return_address(0));
}
void* vzalloc(size_t size) {
  return __vmalloc_node(size, kPageSize, GFP_KERNEL | __GFP_ZERO, -1, 0,
                        __builtin_return_address(0));
}
void* vmalloc_node(size_t size, int node) {
  return __vmalloc_node(size, kPageSize, GFP_KERNEL, node, 0, __builtin_return_address(0));
}
void* vzalloc_node(size_t size, int node) {
  return __vmalloc_node(size, kPageSize, GFP_KERNEL | __GFP_ZERO, node, 0,
                        __builtin_return_address(0));
}

VmapArea* claim_vm_area(const void* addr, uint64_t want) {
  const uint64_t va = reinterpret_cast<uint64_t>(addr);
  if (!g_ready || !in_range(va)) return nullptr;
  IrqSpinLockGuard g(g_vmap_lock);
  VmapArea* a = g_areas.find_busy_containing(va);
  if (!a || a->addr != va || !(a->flags & want) || (a->flags & VM_FREEING)) return nullptr;
  a->flags |= VM_FREEING;
  return a;
}

namespace {

VmapArea* claim_area(const void* addr, uint64_t want, const char* who, const void* caller) {
  VmapArea* a = claim_vm_area(addr, want);
  if (!a)
    pr_err("%s: trying to free nonexistent or foreign area at 0x%llx (caller 0x%llx); ignored\n",
           who, static_cast<unsigned long long>(reinterpret_cast<uint64_t>(addr)),
           static_cast<unsigned long long>(reinterpret_cast<uint64_t>(caller)));
  return a;
}

}  // namespace

void vfree(const void* addr) {
  if (!addr) return;
  VmapArea* a = claim_area(addr, VM_ALLOC, "vfree", __builtin_return_address(0));
  if (!a) return;
  unmap_lazy(a);
  const uint64_t nr = a->nr_pages;
  ring_free(a->page_ring);
  a->nr_pages = 0;
  g_vmalloc_pages.fetch_sub(nr, std::memory_order_relaxed);
  queue_lazy(a);
}

void* vmap(Page* const* pages, unsigned count, uint64_t flags, uint64_t prot) {
  if (!pages || count == 0) return nullptr;
  if (prot == 0) prot = arch::PAGE_KERNEL;
  VmapArea* a = get_vm_area(uint64_t{count} * kPageSize, kPageSize, VM_MAP | (flags & VM_MAP),
                            __builtin_return_address(0));
  if (!a) {
    pr_warn("vmap: no virtual range for %u pages\n", count);
    return nullptr;
  }
  for (unsigned i = 0; i < count; ++i) {
    if (!pages[i]) {
      pr_warn("vmap: page %u of %u is null\n", i, count);
      free_vm_area(a);
      return nullptr;
    }
  }
  if (!arch::map_kernel_pages(VirtAddr(a->addr), count, page_array_pa, const_cast<Page**>(pages),
                              prot)) {
    pr_warn("vmap: cannot map %u pages\n", count);
    free_vm_area(a);
    return nullptr;
  }
  a->nr_pages = count;
  arch::flush_cache_vmap(a->addr, a->size);
  return reinterpret_cast<void*>(a->addr);
}

void vunmap(const void* addr) {
  if (!addr) return;
  VmapArea* a = claim_area(addr, VM_MAP, "vunmap", __builtin_return_address(0));
  if (!a) return;
  unmap_lazy(a);
  queue_lazy(a);
}

void vm_area_unmap_lazy(VmapArea* a) {
  unmap_lazy(a);
  queue_lazy(a);
}

void vmalloc_purge() { purge_lazy(); }

uint64_t lazy_max_pages() {
  static uint64_t cached_cpus, cached;  // nr_cpus() is fixed after boot
  const unsigned cpus = arch::nr_cpus();
  if (cpus != cached_cpus) {
    unsigned fls = 0;
    for (unsigned n = cpus; n; n >>= 1) ++fls;
    cached = uint64_t{fls} * ((32u << 20) / kPageSize);
    cached_cpus = cpus;
  }
  return cached;
}

bool is_vmalloc_addr(const void* addr) { return in_range(reinterpret_cast<uint64_t>(addr)); }

Page* vmalloc_to_page(const void* addr) {
  const uint64_t va = reinterpret_cast<uint64_t>(addr);
  if (!in_range(va)) return nullptr;
  auto l = arch::lookup_kernel_address(VirtAddr(va));
  return l ? phys_to_page(l->pa.page_down()) : nullptr;
}

void vmallocinfo_dump() {
  if (!g_ready) return;
  IrqSpinLockGuard g(g_vmap_lock);
  g_areas.for_each_busy(
      [](const VmapArea& a, void*) {
        if (a.flags & VM_FREEING) return;  // freed, waiting for the purge
        // Linux /proc/vmallocinfo: range, size (guard included), caller,
        // pages=, phys=, kind, N<node>=<pages>.
        char extra[96];
        size_t n = 0;
        extra[0] = 0;
        if (a.nr_pages && (a.flags & VM_ALLOC)) {
          uint64_t per_node[8] = {};
          if (a.page_ring) {
            const Page* p = a.page_ring;
            do {
              per_node[p->nid & 7]++;
              p = page_from_lru(p->lru.next);
            } while (p != a.page_ring);
          }
          for (unsigned i = 0; i < 8 && n < sizeof(extra); ++i)
            if (per_node[i])
              n += snformat(extra + n, sizeof(extra) - n, " N%u=%llu", i,
                            static_cast<unsigned long long>(per_node[i]));
        }
        const char* kind = (a.flags & VM_IOREMAP) ? " ioremap"
                           : (a.flags & VM_ALLOC) ? " vmalloc"
                           : (a.flags & VM_MAP)   ? " vmap"
                                                  : "";
        char phys[32] = "";
        if (a.flags & VM_IOREMAP)
          snformat(phys, sizeof(phys), " phys=0x%016llx",
                   static_cast<unsigned long long>(a.phys_addr));
        char pages[32] = "";
        if (a.nr_pages)
          snformat(pages, sizeof(pages), " pages=%llu",
                   static_cast<unsigned long long>(a.nr_pages));
        printk_raw("0x%016llx-0x%016llx %7llu 0x%llx%s%s%s%s%s\n",
                   static_cast<unsigned long long>(a.va_start),
                   static_cast<unsigned long long>(a.va_end),
                   static_cast<unsigned long long>(a.area_size()),
                   static_cast<unsigned long long>(reinterpret_cast<uint64_t>(a.caller)), pages,
                   phys, kind, (a.flags & VM_GUARD_BELOW) ? " stack" : "", extra);
      },
      nullptr);
}

uint64_t nr_vmalloc_pages() { return g_vmalloc_pages.load(std::memory_order_relaxed); }

uint64_t nr_vmap_areas() {
  if (!g_ready) return 0;
  IrqSpinLockGuard g(g_vmap_lock);
  return g_areas.nr_busy() - g_nr_lazy - g_nr_pooled;
}

uint64_t nr_lazy_vmap_pages() {
  IrqSpinLockGuard g(g_vmap_lock);
  return g_lazy_pages;
}

}  // namespace k
