#include "mm/dma/swiotlb.h"

#include <atomic>

#include <arch/memory.h>

#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/dma/swiotlb_slots.h"
#include "mm/accounting.h"
#include "mm/fault_inject.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace k {
namespace {

struct Pool {
  SpinLock lock;  // leaf lock; taken with IRQs off
  PhysRange range;
  SwiotlbSlots slots;
  uint64_t* bitmap = nullptr;
  // Per slot: the original physical address this slot's bytes mirror, and
  // in the first slot of a run its mapping size (0 elsewhere).
  uint64_t* orig = nullptr;
  uint32_t* alloc_size = nullptr;
  std::atomic<uint64_t> bounced{0};
  bool ready = false;
};
Pool g_pool;

uint32_t slot_of(PhysAddr pa) {
  return static_cast<uint32_t>((pa - g_pool.range.base) >> kSwiotlbSlotShift);
}

void copy(PhysAddr dst, PhysAddr src, size_t size) {
  memcpy(arch::phys_to_virt(dst), arch::phys_to_virt(src), size);
  g_pool.bounced.fetch_add(size, std::memory_order_relaxed);
}

// The original address mirrored at tlb_addr (valid inside a live run).
PhysAddr orig_of(PhysAddr tlb_addr) {
  const uint32_t i = slot_of(tlb_addr);
  const uint64_t off = (tlb_addr - g_pool.range.base) & (kSwiotlbSlotSize - 1);
  return PhysAddr(g_pool.orig[i] + off);
}

}  // namespace

bool swiotlb_init(size_t bytes) {
  if (g_pool.ready) return true;
  unsigned order = 0;
  while ((kPageSize << order) < bytes && order < MAX_ORDER) ++order;
  Page* page = nullptr;
  for (;; --order) {
    page = alloc_pages(GFP_DMA | __GFP_NOWARN, order);
    if (page || order == 0) break;
  }
  if (!page) {
    pr_err("swiotlb: no low memory for the bounce pool\n");
    return false;
  }
  const uint64_t size = kPageSize << order;
  const auto nslots = static_cast<uint32_t>(size >> kSwiotlbSlotShift);
  // The slot tables come from the page allocator too, so the pool can be
  // set up right after it, before slab/kmalloc exist.
  const size_t bitmap_bytes = SwiotlbSlots::bitmap_words(nslots) * sizeof(uint64_t);
  const size_t table_bytes = bitmap_bytes + nslots * (sizeof(uint64_t) + sizeof(uint32_t));
  unsigned torder = 0;
  while ((kPageSize << torder) < table_bytes) ++torder;
  auto* tables = static_cast<uint8_t*>(__get_free_pages(GFP_KERNEL | __GFP_ZERO, torder));
  if (!tables) {
    __free_pages(page, order);
    pr_err("swiotlb: no memory for the slot tables\n");
    return false;
  }
  account_pages(MM_DMA, page, order, +1);  // mm/accounting.h
  account_pages(MM_DMA, virt_to_page(tables), torder, +1);
  g_pool.orig = reinterpret_cast<uint64_t*>(tables);
  g_pool.bitmap = reinterpret_cast<uint64_t*>(tables + nslots * sizeof(uint64_t));
  g_pool.alloc_size =
      reinterpret_cast<uint32_t*>(tables + nslots * sizeof(uint64_t) + bitmap_bytes);
  g_pool.range = PhysRange{page_to_phys(page), size};
  g_pool.slots.init(g_pool.bitmap, nslots);
  g_pool.ready = true;
  pr_info("swiotlb: bounce pool %#llx-%#llx (%llu KiB, %u slots)\n",
          static_cast<unsigned long long>(g_pool.range.base.value()),
          static_cast<unsigned long long>(g_pool.range.end().value() - 1),
          static_cast<unsigned long long>(size >> 10), nslots);
  return true;
}

bool swiotlb_ready() { return g_pool.ready; }
PhysRange swiotlb_range() { return g_pool.range; }
size_t swiotlb_max_mapping_size() { return kSwiotlbMaxRun * kSwiotlbSlotSize; }

bool is_swiotlb_buffer(PhysAddr pa) { return g_pool.ready && g_pool.range.contains(pa); }

std::optional<PhysAddr> swiotlb_tbl_map_single(PhysAddr orig, size_t size, dma_data_direction dir) {
  (void)dir;
  if (!g_pool.ready || size == 0 || size > swiotlb_max_mapping_size()) return std::nullopt;
  if (should_fail_swiotlb(size)) return std::nullopt;  // mm/fault_inject.h
  const uint64_t off = orig.value() & (kSwiotlbSlotSize - 1);
  // The first slot keeps orig's offset within a slot (Linux min_align_mask
  // idea): sub-slot alignment the driver relied on survives the bounce.
  const auto count =
      static_cast<uint32_t>(align_up(off + size, kSwiotlbSlotSize) >> kSwiotlbSlotShift);
  const uint32_t align =
      size >= kPageSize ? static_cast<uint32_t>(kPageSize >> kSwiotlbSlotShift) : 1;
  std::optional<uint32_t> idx;
  {
    IrqSpinLockGuard g(g_pool.lock);
    idx = g_pool.slots.alloc(count, align);
    if (!idx) return std::nullopt;
    const uint64_t first = orig.value() - off;
    for (uint32_t i = 0; i < count; ++i) {
      g_pool.orig[*idx + i] = first + i * kSwiotlbSlotSize;
      g_pool.alloc_size[*idx + i] = 0;
    }
    g_pool.alloc_size[*idx] = static_cast<uint32_t>(size);
  }
  const PhysAddr tlb = g_pool.range.base + (uint64_t{*idx} << kSwiotlbSlotShift) + off;
  copy(tlb, orig, size);
  return tlb;
}

bool swiotlb_tbl_unmap_single(PhysAddr tlb_addr, size_t size, dma_data_direction dir) {
  if (!is_swiotlb_buffer(tlb_addr)) return false;
  const uint32_t idx = slot_of(tlb_addr);
  const uint64_t off = (tlb_addr - g_pool.range.base) & (kSwiotlbSlotSize - 1);
  uint32_t count;
  {
    IrqSpinLockGuard g(g_pool.lock);
    if (!g_pool.slots.in_use(idx) || g_pool.alloc_size[idx] != size) return false;
    count = static_cast<uint32_t>(align_up(off + size, kSwiotlbSlotSize) >> kSwiotlbSlotShift);
  }
  if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL) copy(orig_of(tlb_addr), tlb_addr, size);
  IrqSpinLockGuard g(g_pool.lock);
  g_pool.alloc_size[idx] = 0;
  return g_pool.slots.free(idx, count);
}

void swiotlb_sync_single_for_cpu(PhysAddr tlb_addr, size_t size, dma_data_direction dir) {
  if (!is_swiotlb_buffer(tlb_addr) || !g_pool.slots.in_use(slot_of(tlb_addr))) return;
  if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL) copy(orig_of(tlb_addr), tlb_addr, size);
}

void swiotlb_sync_single_for_device(PhysAddr tlb_addr, size_t size, dma_data_direction dir) {
  (void)dir;
  if (!is_swiotlb_buffer(tlb_addr) || !g_pool.slots.in_use(slot_of(tlb_addr))) return;
  copy(tlb_addr, orig_of(tlb_addr), size);
}

SwiotlbInfo swiotlb_info() {
  IrqSpinLockGuard g(g_pool.lock);
  return SwiotlbInfo{g_pool.slots.nslots(), g_pool.slots.used(), g_pool.slots.high_water(),
                     g_pool.bounced.load(std::memory_order_relaxed)};
}

}  // namespace k
