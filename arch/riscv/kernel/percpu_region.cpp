// Per-CPU units in their own virtual region (docs/memory-layout.md,
// "Per-CPU units"): CPU c's area starts at percpu_start + c * stride. The
// first chunk (static template + reserved dynamic region) is backed at
// boot by node-local memblock memory; alloc_percpu grows every unit at the
// same offset with node-local pages (percpu_populate), so per_cpu_ptr
// stays one add for every chunk.
//
// Why not Linux's congruent vmalloc areas (pcpu_get_vm_areas): with the
// areas in the linear map, CPU units on two NUMA nodes can be as far apart
// as the nodes' RAM (on the VisionFive 2 and QEMU `-numa`, gigabytes; in
// Sv39 up to the 132 GiB linear map), and one vm area per unit at the same
// distance from each unit only exists when that spread fits the 56 GiB
// vmalloc range. A dedicated region with a fixed stride has no such limit.
#include "arch/riscv/kernel/percpu_region.h"

#include "arch/riscv/kernel/smp.h"

#include <atomic>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/percpu.h>
#include <arch/pgtable.h>
#include <arch/tlb.h>

#include "kernel/panic.h"
#include "kernel/printk.h"
#include "lib/types.h"
#include "mm/gfp.h"
#include "mm/memblock.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace arch {
namespace {

// Units never share a leaf table (2 MiB) and need no more than 1 GiB of
// offsets: alloc_percpu's chunks are 64 KiB.
constexpr uint64_t kMinStride = uint64_t{2} << 20;
constexpr uint64_t kMaxStride = uint64_t{1} << 30;

uint64_t g_stride;
std::atomic<uint64_t> g_populated{0};

uint64_t unit_base(unsigned cpu) { return g_layout.percpu_start + cpu * g_stride; }

}  // namespace

CpuBlock* percpu_setup_unit(unsigned cpu, unsigned nr_cpus, int node, size_t first_chunk) {
  if (g_stride == 0) {
    const uint64_t region = g_layout.percpu_end - g_layout.percpu_start;
    uint64_t stride = k::align_down(region / nr_cpus, kMinStride);
    if (stride > kMaxStride) stride = kMaxStride;
    if (stride < kMinStride || stride < first_chunk)
      k::panic("percpu: %u CPUs do not fit the %llu MiB per-CPU region", nr_cpus,
               static_cast<unsigned long long>(region >> 20));
    g_stride = stride;
    pr_info("percpu: %u units of %llu MiB at 0x%llx, first chunk %zu bytes\n", nr_cpus,
            static_cast<unsigned long long>(stride >> 20),
            static_cast<unsigned long long>(g_layout.percpu_start), first_chunk);
  }
  const uint64_t size = k::align_up(first_chunk, k::kPageSize);
  void* mem = k::memblock.alloc(size, k::kPageSize, node);
  if (!mem)
    k::panic("percpu: cannot allocate %llu bytes for CPU %u", (unsigned long long)size, cpu);
  const uint64_t va = unit_base(cpu);
  if (!map_kernel_range_boot(k::VirtAddr(va), virt_to_phys(mem), size, PAGE_KERNEL, node))
    k::panic("percpu: cannot map the first chunk of CPU %u", cpu);
  local_flush_tlb_all();  // only this hart runs; it may have walked the hole
  return reinterpret_cast<CpuBlock*>(va);
}

size_t percpu_unit_size() { return g_stride; }

uint64_t percpu_populated_pages() { return g_populated.load(std::memory_order_relaxed); }

void percpu_depopulate(size_t offset, size_t size) {
  if (size == 0 || offset > g_stride || size > g_stride - offset) return;
  // The pages are found through the page table, unmapped everywhere with
  // one shootdown, then freed (nothing can reach them any more).
  k::Page* ring = nullptr;
  uint64_t freed = 0;
  for (unsigned c = 0; c < nr_cpus(); ++c) {
    const uint64_t start = unit_base(c) + offset;
    for (uint64_t va = start; va < start + size; va += k::kPageSize) {
      auto l = lookup_kernel_address(k::VirtAddr(va));
      if (!l) continue;
      k::Page* p = k::phys_to_page(l->pa.page_down());
      if (!p) continue;
      if (!ring) {
        p->lru.next = p->lru.prev = &p->lru;
        ring = p;
      } else {
        p->lru.next = &ring->lru;
        p->lru.prev = ring->lru.prev;
        ring->lru.prev->next = &p->lru;
        ring->lru.prev = &p->lru;
      }
      ++freed;
    }
    unmap_kernel_range_noflush(k::VirtAddr(start), size);
  }
  struct Units {
    size_t offset, size;
    unsigned next;
  } units{offset, size, 0};
  flush_and_prune_kernel_ranges(
      unit_base(0) + offset, (nr_cpus() - 1) * g_stride + size,
      [](void* ctx, uint64_t* va, uint64_t* len) {
        auto* u = static_cast<Units*>(ctx);
        if (u->next >= nr_cpus()) return false;
        *va = unit_base(u->next++) + u->offset;
        *len = u->size;
        return true;
      },
      &units);
  while (ring) {
    k::Page* p = ring;
    k::ListNode* next = p->lru.next;
    ring = next == &p->lru ? nullptr : k::page_from_lru(next);
    p->lru.unlink();
    k::__free_pages(p, 0);
  }
  g_populated.fetch_sub(freed, std::memory_order_relaxed);
}

bool percpu_populate(size_t offset, size_t size) {
  if (size == 0 || !k::is_aligned(offset | size, k::kPageSize) || offset > g_stride ||
      size > g_stride - offset)
    return false;
  for (unsigned c = 0; c < nr_cpus(); ++c) {
    const uint64_t start = unit_base(c) + offset;
    for (uint64_t va = start; va < start + size; va += k::kPageSize) {
      k::Page* p =
          k::alloc_pages_node(cpu_info(c).node, k::GFP_KERNEL | k::__GFP_ZERO | k::__GFP_NOWARN, 0);
      if (!p) goto fail;
      if (!map_kernel_range(k::VirtAddr(va), k::page_to_phys(p), k::kPageSize, PAGE_KERNEL,
                            kLeaf4K)) {
        k::__free_pages(p, 0);
        goto fail;
      }
      g_populated.fetch_add(1, std::memory_order_relaxed);
    }
    // Other harts fix up a stale invalid entry on first touch (arch/tlb.h).
    flush_cache_vmap(start, size);
  }
  return true;
fail:
  pr_warn("percpu: no memory to grow every CPU's area by %zu bytes\n", size);
  percpu_depopulate(offset, size);
  return false;
}

}  // namespace arch
