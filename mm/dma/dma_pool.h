// Pools of small coherent DMA blocks (Linux mm/dmapool.c): fixed-size
// blocks carved from page-sized dma_alloc_coherent() chunks, for things
// like descriptors and request headers that are too small for a page each.
#pragma once

#include <cstddef>
#include <cstdint>

#include "drivers/base/device.h"
#include "lib/types.h"
#include "mm/gfp.h"

namespace k {

struct DmaPool;

// Blocks of `size` bytes aligned to `align` (power of two, 0 = 8), never
// crossing a `boundary`-byte boundary (power of two >= size, 0 = none).
// nullptr for size 0 or above a page, bad align/boundary, or no memory.
DmaPool* dma_pool_create(const char* name, Device* dev, size_t size, size_t align, size_t boundary);
// Every block must have been freed; blocks still out are reported and
// their chunks leaked (the device may still use them).
void dma_pool_destroy(DmaPool* pool);
// A block and its bus address; nullptr when out of memory. __GFP_ZERO
// zeroes the block.
void* dma_pool_alloc(DmaPool* pool, gfp_t gfp, DmaAddr* handle);
inline void* dma_pool_zalloc(DmaPool* pool, gfp_t gfp, DmaAddr* handle) {
  return dma_pool_alloc(pool, gfp | __GFP_ZERO, handle);
}
// Reports (and ignores) a block not from this pool or already free.
void dma_pool_free(DmaPool* pool, void* vaddr, DmaAddr handle);

// Blocks handed out and not freed; chunks (pages) the pool holds.
size_t dma_pool_blocks_in_use(const DmaPool* pool);
size_t dma_pool_chunks(const DmaPool* pool);

}  // namespace k
