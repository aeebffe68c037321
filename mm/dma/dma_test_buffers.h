// Buffers for DMA self-tests, straight from the page allocator: slab caches
// keep empty slabs, which a suite's free-page counter would see as a leak.
#pragma once

#include <cstddef>

#include "mm/gfp.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"

namespace k::dma_test {

inline unsigned order_for(size_t size) {
  unsigned o = 0;
  while ((kPageSize << o) < size) ++o;
  return o;
}
inline void* alloc(size_t size) { return __get_free_pages(GFP_KERNEL, order_for(size)); }
inline void* zalloc(size_t size) {
  return __get_free_pages(GFP_KERNEL | __GFP_ZERO, order_for(size));
}
inline void free(void* p) {
  if (p) free_pages(p, virt_to_page(p)->order);
}

}  // namespace k::dma_test
