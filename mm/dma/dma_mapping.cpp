#include "mm/dma/dma_mapping.h"

#include <arch/memory.h>

#include "arch/riscv/mm/cache.h"
#include "kernel/boot_info.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/accounting.h"
#include "mm/dma/dma_coherent_pool.h"
#include "mm/dma/dma_debug.h"
#include "mm/dma/swiotlb.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/vmalloc.h"
#include "mm/zone.h"

namespace k {
namespace {

// Linux's default swiotlb size is 64 MiB; one max-order block is enough
// for a handful of virtio queues and keeps ZONE_DMA usable.
constexpr size_t kBouncePoolBytes = size_t{4} << 20;

DmaStats g_stats;
SpinLock g_init_lock;
bool g_inited = false;
std::atomic<uint32_t> g_full_reports{0};

unsigned order_for(size_t size) {
  unsigned order = 0;
  while ((kPageSize << order) < size) ++order;
  return order;
}

bool kernel_image_addr(const void* p) {
  const uint64_t va = reinterpret_cast<uint64_t>(p);
  return va >= arch::g_layout.kernel_virt &&
         va - arch::g_layout.kernel_virt < arch::g_layout.kernel_size;
}

// Cache maintenance handing a buffer to the device / back to the CPU (the
// table in dma_mapping.h; Linux arch/riscv/mm/dma-noncoherent.c).
void sync_for_device(PhysAddr pa, size_t size, dma_data_direction dir) {
  if (dir == DMA_BIDIRECTIONAL)
    arch::cache_flush_range(pa, size);
  else
    arch::cache_clean_range(pa, size);
}
void sync_for_cpu(PhysAddr pa, size_t size, dma_data_direction dir) {
  if (dir != DMA_TO_DEVICE) arch::cache_invalidate_range(pa, size);
}

bool line_aligned(PhysAddr pa, size_t size) {
  const uint64_t line = arch::cache_line_size();
  return ((pa.value() | size) & (line - 1)) == 0;
}

DmaAddr map_phys(Device* dev, PhysAddr pa, size_t size, dma_data_direction dir) {
  if (!dev || size == 0 || dir > DMA_FROM_DEVICE) {
    pr_err("dma: %s: bad mapping request (size %zu, dir %u)\n", dev ? dev->name : "(null)", size,
           dir);
    g_stats.map_failures.fetch_add(1, std::memory_order_relaxed);
    return DMA_MAPPING_ERROR;
  }
  DmaAddr bus;
  PhysAddr dev_pa = pa;
  const bool reachable = dma_capable(dev, pa, size, &bus);
  // A non-coherent device must not share a cache line with other data:
  // maintenance on a partial line would clobber it (Linux
  // dma_kmalloc_needs_bounce).
  if (dev->force_bounce || !reachable || (!dev->dma.coherent && !line_aligned(pa, size))) {
    auto tlb = swiotlb_tbl_map_single(pa, size, dir);
    if (!tlb) {
      if (g_full_reports.fetch_add(1, std::memory_order_relaxed) < 8)
        pr_err("dma: %s: bounce pool %s (%zu bytes)\n", dev->name,
               swiotlb_ready() ? "full" : "missing", size);
      g_stats.map_failures.fetch_add(1, std::memory_order_relaxed);
      return DMA_MAPPING_ERROR;
    }
    if (!dma_capable(dev, *tlb, size, &bus)) {
      swiotlb_tbl_unmap_single(*tlb, size, DMA_TO_DEVICE);
      pr_err("dma: %s: the bounce pool is outside the device's reach\n", dev->name);
      g_stats.map_failures.fetch_add(1, std::memory_order_relaxed);
      return DMA_MAPPING_ERROR;
    }
    dev_pa = *tlb;
    g_stats.bounces.fetch_add(1, std::memory_order_relaxed);
  }
  if (!dev->dma.coherent) sync_for_device(dev_pa, size, dir);
  g_stats.maps.fetch_add(1, std::memory_order_relaxed);
  g_stats.mappings_live.fetch_add(1, std::memory_order_relaxed);
  debug_dma_map(dev, bus, pa, size, dir);
  return bus;
}

// Tries zone modifiers from the least to the most restrictive the device
// can need (Linux dma_direct_alloc_pages' retry with GFP_DMA32 / GFP_DMA).
Page* alloc_reachable(Device* dev, size_t size, unsigned order, gfp_t gfp, DmaAddr* bus) {
  gfp &= ~(__GFP_DMA | __GFP_DMA32 | __GFP_COMP);
  const uint64_t limit = dev->dma.cpu_limit(dev->coherent_dma_mask);
  const uint64_t dma32_end = g_zone_limits.dma32_end_pfn << kPageShift;
  const uint64_t dma_end = g_zone_limits.dma_end_pfn << kPageShift;
  gfp_t tries[3];
  int n = 0;
  if (limit > dma32_end) tries[n++] = 0;
  if (!dma_end || limit > dma_end) tries[n++] = __GFP_DMA32;
  tries[n++] = __GFP_DMA;
  for (int i = 0; i < n; ++i) {
    Page* page = alloc_pages(gfp | tries[i] | __GFP_NOWARN, order);
    if (!page) continue;
    if (auto b = dev->dma.phys_to_bus(page_to_phys(page).value(), size, dev->coherent_dma_mask)) {
      *bus = DmaAddr(*b);
      return page;
    }
    __free_pages(page, order);
  }
  return nullptr;
}

}  // namespace

const char* dma_dir_name(dma_data_direction dir) {
  switch (dir) {
    case DMA_BIDIRECTIONAL:
      return "BIDIRECTIONAL";
    case DMA_TO_DEVICE:
      return "TO_DEVICE";
    case DMA_FROM_DEVICE:
      return "FROM_DEVICE";
    case DMA_NONE:
      return "NONE";
  }
  return "?";
}

DmaStats& dma_stats() { return g_stats; }

bool dma_init() {
  SpinLockGuard g(g_init_lock);
  if (g_inited) return swiotlb_ready();
  g_inited = true;
  if (auto fdt = fdt::Fdt::parse(boot_dtb(), boot_dtb_size())) arch::cache_init(*fdt);
  dma_debug_init();
  return swiotlb_init(kBouncePoolBytes);
}

Result<void> dma_set_mask(Device* dev, uint64_t mask) {
  if (!dev || mask < dma_bit_mask(24)) return Errno::kEIO;
  // Linux dma_supported(): the mask must reach at least the lowest memory
  // the device's windows lead to.
  uint64_t lowest = ~uint64_t{0};
  for (size_t i = 0; i < dev->dma.nr_windows; ++i)
    if (dev->dma.windows[i].bus_start < lowest) lowest = dev->dma.windows[i].bus_start;
  if (dev->dma.nr_windows == 0 || mask < lowest) return Errno::kEIO;
  dev->dma_mask = mask;
  return {};
}
Result<void> dma_set_coherent_mask(Device* dev, uint64_t mask) {
  if (!dev || mask < dma_bit_mask(24) || dev->dma.nr_windows == 0) return Errno::kEIO;
  dev->coherent_dma_mask = mask;
  return {};
}
Result<void> dma_set_mask_and_coherent(Device* dev, uint64_t mask) {
  TRY(dma_set_mask(dev, mask));
  return dma_set_coherent_mask(dev, mask);
}

bool dma_capable(const Device* dev, PhysAddr pa, size_t size, DmaAddr* bus) {
  if (!dev) return false;
  auto b = dev->dma.phys_to_bus(pa.value(), size, dev->dma_mask);
  if (!b) return false;
  if (bus) *bus = DmaAddr(*b);
  return true;
}

std::optional<PhysAddr> dma_to_phys(const Device* dev, DmaAddr bus) {
  if (!dev) return std::nullopt;
  auto pa = dev->dma.bus_to_phys(bus.value());
  if (!pa) return std::nullopt;
  return PhysAddr(*pa);
}

void* dma_alloc_coherent(Device* dev, size_t size, DmaAddr* handle, gfp_t gfp) {
  *handle = DMA_MAPPING_ERROR;
  if (!dev || size == 0 || size > (kPageSize << MAX_ORDER)) return nullptr;
  size = align_up(size, kPageSize);
  const bool coherent = dev->dma.coherent;

  // The device's own pool first (Linux dma_alloc_from_dev_coherent). A
  // non-coherent device can only use an uncached (no-map) pool.
  if (DmaCoherentPool* pool = dev->coherent_pool; pool && (coherent || pool->uncached)) {
    PhysAddr pa;
    if (void* v = dma_coherent_pool_alloc(pool, size, &pa)) {
      auto bus = dev->dma.phys_to_bus(pa.value(), size, dev->coherent_dma_mask);
      if (!bus) {
        dma_coherent_pool_free(pool, v, size);
        g_stats.outside_window.fetch_add(1, std::memory_order_relaxed);
        pr_err("dma: %s: its memory-region is outside its DMA window\n", dev->name);
        return nullptr;
      }
      *handle = DmaAddr(*bus);
      g_stats.coherent_allocs.fetch_add(1, std::memory_order_relaxed);
      g_stats.coherent_pages_live.fetch_add(static_cast<int64_t>(size / kPageSize));
      return v;
    }
    if (!coherent) return nullptr;  // nowhere else to get uncached memory
  }

  const uint64_t nc_prot = coherent ? 0 : arch::pgprot_dma_noncached();
  if (!coherent && !nc_prot) {
    pr_err(
        "dma: %s: non-coherent device needs an uncached mapping: no Svpbmt and no no-map "
        "shared-dma-pool\n",
        dev->name);
    return nullptr;
  }
  const unsigned order = order_for(size);
  DmaAddr bus;
  Page* page = alloc_reachable(dev, size, order, gfp, &bus);
  if (!page) return nullptr;
  account_pages(MM_DMA, page, order, +1);  // mm/accounting.h
  const PhysAddr pa = page_to_phys(page);
  void* cpu = page_address(page);
  memset(cpu, 0, size);
  if (!coherent) {
    // Write the zeroes back and drop every line of the cached linear
    // alias before the uncached mapping is used (Linux
    // arch_dma_prep_coherent).
    arch::cache_flush_range(pa, size);
    const unsigned n = 1u << order;
    auto** pages = static_cast<Page**>(kmalloc_array(n, sizeof(Page*), gfp & ~__GFP_ZERO));
    if (!pages) {
      account_pages(MM_DMA, page, order, -1);
      __free_pages(page, order);
      return nullptr;
    }
    for (unsigned i = 0; i < n; ++i) pages[i] = page + i;
    cpu = vmap(pages, n, VM_MAP, nc_prot);
    kfree(pages);
    if (!cpu) {
      account_pages(MM_DMA, page, order, -1);
      __free_pages(page, order);
      return nullptr;
    }
  }
  *handle = bus;
  g_stats.coherent_allocs.fetch_add(1, std::memory_order_relaxed);
  g_stats.coherent_pages_live.fetch_add(int64_t{1} << order);
  return cpu;
}

void dma_free_coherent(Device* dev, size_t size, void* cpu_addr, DmaAddr handle) {
  if (!dev || !cpu_addr) return;
  size = align_up(size, kPageSize);
  if (dev->coherent_pool && dma_coherent_pool_owns(dev->coherent_pool, cpu_addr)) {
    if (!dma_coherent_pool_free(dev->coherent_pool, cpu_addr, size)) {
      pr_err("dma: %s: dma_free_coherent of %p (+%zu) not allocated from its pool\n", dev->name,
             cpu_addr, size);
      return;
    }
    g_stats.coherent_pages_live.fetch_sub(static_cast<int64_t>(size / kPageSize));
    return;
  }
  auto pa = dma_to_phys(dev, handle);
  if (!pa) {
    pr_err("dma: %s: dma_free_coherent of unknown bus address %#llx\n", dev->name,
           static_cast<unsigned long long>(handle.value()));
    return;
  }
  const unsigned order = order_for(size);
  if (is_vmalloc_addr(cpu_addr)) {
    vunmap(cpu_addr);
  } else if (arch::virt_to_phys(cpu_addr) != *pa) {
    pr_err("dma: %s: dma_free_coherent: %p does not match bus address %#llx\n", dev->name, cpu_addr,
           static_cast<unsigned long long>(handle.value()));
    return;
  }
  account_pages(MM_DMA, phys_to_page(*pa), order, -1);  // mm/accounting.h
  __free_pages(phys_to_page(*pa), order);
  g_stats.coherent_pages_live.fetch_sub(int64_t{1} << order);
}

DmaAddr dma_map_single(Device* dev, void* ptr, size_t size, dma_data_direction dir) {
  if (!ptr || !(arch::is_linear_addr(ptr) || kernel_image_addr(ptr))) {
    // vmalloc memory is not physically contiguous (Linux warns the same).
    pr_err("dma: %s: dma_map_single of %p: not a linear-map address\n", dev ? dev->name : "?", ptr);
    g_stats.map_failures.fetch_add(1, std::memory_order_relaxed);
    return DMA_MAPPING_ERROR;
  }
  return map_phys(dev, arch::virt_to_phys(ptr), size, dir);
}

DmaAddr dma_map_page(Device* dev, Page* page, size_t offset, size_t size, dma_data_direction dir) {
  if (!page) return DMA_MAPPING_ERROR;
  return map_phys(dev, page_to_phys(page) + offset, size, dir);
}

void dma_unmap_single(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir) {
  if (!dev || dma_mapping_error(dev, addr)) return;
  if (!debug_dma_unmap(dev, addr, size, dir)) return;
  auto pa = dma_to_phys(dev, addr);
  if (!pa) {
    pr_err("dma: %s: unmap of bus address %#llx outside its windows\n", dev->name,
           static_cast<unsigned long long>(addr.value()));
    return;
  }
  if (!dev->dma.coherent) sync_for_cpu(*pa, size, dir);
  if (is_swiotlb_buffer(*pa) && !swiotlb_tbl_unmap_single(*pa, size, dir)) {
    pr_err("dma: %s: unmap of %#llx (+%zu) is not a live bounce mapping\n", dev->name,
           static_cast<unsigned long long>(addr.value()), size);
    return;
  }
  g_stats.mappings_live.fetch_sub(1, std::memory_order_relaxed);
}

void dma_unmap_page(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir) {
  dma_unmap_single(dev, addr, size, dir);
}

void dma_sync_single_for_cpu(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir) {
  if (!dev || dma_mapping_error(dev, addr)) return;
  debug_dma_sync_for_cpu(dev, addr, size, dir);
  auto pa = dma_to_phys(dev, addr);
  if (!pa) return;
  if (!dev->dma.coherent) sync_for_cpu(*pa, size, dir);
  if (is_swiotlb_buffer(*pa)) swiotlb_sync_single_for_cpu(*pa, size, dir);
}

void dma_sync_single_for_device(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir) {
  if (!dev || dma_mapping_error(dev, addr)) return;
  debug_dma_sync_for_device(dev, addr, size, dir);
  auto pa = dma_to_phys(dev, addr);
  if (!pa) return;
  if (is_swiotlb_buffer(*pa)) swiotlb_sync_single_for_device(*pa, size, dir);
  if (!dev->dma.coherent) sync_for_device(*pa, size, dir);
}

}  // namespace k
