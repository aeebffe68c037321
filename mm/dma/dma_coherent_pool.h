// A device's own coherent memory: the /reserved-memory region with
// compatible = "shared-dma-pool" its memory-region points at (Linux
// kernel/dma/coherent.c, dma_declare_coherent_memory). Page-granular
// first-fit over a bitmap. A no-map region is mapped uncached with
// ioremap (the coherent-DMA fallback for non-coherent devices on harts
// without Svpbmt, ARCHITECTURE.md); a mapped region is used through the
// linear map.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/result.h"
#include "lib/spinlock.h"
#include "lib/types.h"
#include "mm/boot_mem.h"

namespace k {

struct DmaCoherentPool {
  SpinLock lock;  // leaf; IRQs off
  PhysRange range;
  uint8_t* virt = nullptr;
  bool uncached = false;  // ioremapped no-map region
  uint64_t* bitmap = nullptr;
  uint32_t npages = 0;
  uint32_t used = 0;
};

// ENOMEM without memory or mapping space, EINVAL for an empty or
// unaligned region.
Result<DmaCoherentPool*> dma_coherent_pool_create(const ReservedMem& rm);
// Every page must have been freed; otherwise the pool is leaked with an
// error line rather than freed under a device's feet.
void dma_coherent_pool_destroy(DmaCoherentPool* pool);
// Zeroed pages for `size` bytes; nullptr when the pool has no such run.
void* dma_coherent_pool_alloc(DmaCoherentPool* pool, size_t size, PhysAddr* pa);
// false if vaddr/size is not a live allocation of this pool.
bool dma_coherent_pool_free(DmaCoherentPool* pool, void* vaddr, size_t size);
bool dma_coherent_pool_owns(const DmaCoherentPool* pool, const void* vaddr);

}  // namespace k
