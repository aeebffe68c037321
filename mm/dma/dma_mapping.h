// The DMA API (Linux Documentation/core-api/dma-api.rst, names and
// semantics; include/linux/dma-mapping.h).
//
// Coherent ("consistent") memory: dma_alloc_coherent() returns a CPU
// address and, in *handle, the bus address the device uses (after the
// dma-ranges of its buses). The memory lies inside the device's coherent
// mask and DMA windows: from the device's shared-dma-pool when it has one,
// otherwise from the buddy allocator in the zone the mask needs (ZONE_DMA,
// ZONE_DMA32). For a non-coherent device the lines are flushed before
// hand-out and the CPU mapping is uncached: Svpbmt NC when the harts have
// Svpbmt; without Svpbmt only a device pool can provide it (a no-map
// reserved region, mapped uncached), else the allocation fails.
//
// Streaming mappings: dma_map_single()/dma_map_page() hand one buffer to
// the device; ownership comes back with dma_unmap_*() or, temporarily,
// dma_sync_single_for_cpu() (and goes back with ..._for_device()). For a
// non-coherent device the cache maintenance is (Linux
// arch/riscv/mm/dma-noncoherent.c):
//            for device (map, sync_for_device)   for CPU (unmap, sync_for_cpu)
//   TO_DEVICE      clean                          -
//   FROM_DEVICE    clean                          invalidate
//   BIDIRECTIONAL  flush                          invalidate
// A buffer the device cannot reach (outside its mask or windows), a
// force_bounce device, and a non-coherent mapping that is not cache-line
// aligned are bounced through the swiotlb pool (mm/dma/swiotlb.h) with
// the copy in the direction's sense. Failure (pool exhausted, nothing
// reachable) returns DMA_MAPPING_ERROR: test it with dma_mapping_error().
//
// Safe from any CPU and from interrupt context (except dma_alloc_coherent
// with a blocking gfp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "drivers/base/device.h"
#include "lib/result.h"
#include "lib/types.h"
#include "mm/gfp.h"
#include "mm/page.h"

namespace k {

enum dma_data_direction : uint8_t {
  DMA_BIDIRECTIONAL = 0,
  DMA_TO_DEVICE = 1,
  DMA_FROM_DEVICE = 2,
  DMA_NONE = 3,
};
const char* dma_dir_name(dma_data_direction dir);

inline constexpr DmaAddr DMA_MAPPING_ERROR{~uint64_t{0}};
inline bool dma_mapping_error(const Device*, DmaAddr a) { return a == DMA_MAPPING_ERROR; }

// Sets up the DMA layer once: cache maintenance provider (from the DT),
// the bounce pool, dma_debug= from the command line. Needs only the page
// allocator and the boot DTB: kernel/main.cpp calls it right after
// setup_page_allocator(); device_create() calls it too (idempotent).
// false if the bounce pool could not be allocated (DMA then works only for
// buffers devices reach directly).
bool dma_init();

// Masks (Linux dma_set_mask & co). EIO when the mask cannot cover the
// memory the device's DMA windows need (mask below 24 bits or below the
// lowest window), mask 0 or a null device.
Result<void> dma_set_mask(Device* dev, uint64_t mask);
Result<void> dma_set_coherent_mask(Device* dev, uint64_t mask);
Result<void> dma_set_mask_and_coherent(Device* dev, uint64_t mask);

// Whether [pa, pa+size) can be handed to dev without bouncing, and the bus
// address if so (mask and windows checked).
bool dma_capable(const Device* dev, PhysAddr pa, size_t size, DmaAddr* bus = nullptr);
// Bus address -> CPU physical address through dev's windows.
std::optional<PhysAddr> dma_to_phys(const Device* dev, DmaAddr bus);

// nullptr (and *handle = DMA_MAPPING_ERROR) on failure. Size is rounded
// up to pages; the memory is zeroed (Linux has done so since 5.0).
void* dma_alloc_coherent(Device* dev, size_t size, DmaAddr* handle, gfp_t gfp);
void dma_free_coherent(Device* dev, size_t size, void* cpu_addr, DmaAddr handle);

DmaAddr dma_map_single(Device* dev, void* ptr, size_t size, dma_data_direction dir);
void dma_unmap_single(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir);
DmaAddr dma_map_page(Device* dev, Page* page, size_t offset, size_t size, dma_data_direction dir);
void dma_unmap_page(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir);
void dma_sync_single_for_cpu(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir);
void dma_sync_single_for_device(Device* dev, DmaAddr addr, size_t size, dma_data_direction dir);

// Counters (tests, diagnostics, the `dma` shell command).
struct DmaStats {
  std::atomic<uint64_t> maps{0};                // streaming maps made
  std::atomic<uint64_t> map_failures{0};        // DMA_MAPPING_ERROR returned
  std::atomic<uint64_t> bounces{0};             // maps that went through swiotlb
  std::atomic<int64_t> mappings_live{0};        // mapped, not yet unmapped
  std::atomic<int64_t> coherent_pages_live{0};  // dma_alloc_coherent pages out
  std::atomic<uint64_t> coherent_allocs{0};
  // Addresses handed out that the device could not reach: must stay 0.
  std::atomic<uint64_t> outside_window{0};
};
DmaStats& dma_stats();

}  // namespace k
