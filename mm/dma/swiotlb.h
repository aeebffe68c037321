// The bounce pool ("software IO TLB", Linux kernel/dma/swiotlb.c): one
// physically contiguous pool in low memory that every device can reach,
// into which streaming mappings of unreachable buffers are copied.
//
// Placement: allocated once from the buddy allocator with GFP_DMA, i.e.
// in ZONE_DMA when the DT's dma-ranges created one (then below the most
// restrictive bus limit) and in ZONE_DMA32 otherwise. Slots are 2 KiB,
// one mapping takes at most 128 slots (256 KiB); mappings of a page or
// more start on a page boundary. Exhaustion is an error the caller sees
// (nullopt -> DMA_MAPPING_ERROR), never a wait.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "lib/types.h"
#include "mm/dma/dma_mapping.h"

namespace k {

// Allocates a pool of `bytes` (rounded to a power-of-two number of pages,
// at most one max-order block; halved until it fits). Idempotent.
bool swiotlb_init(size_t bytes);
bool swiotlb_ready();
PhysRange swiotlb_range();

// Largest single mapping the pool accepts.
size_t swiotlb_max_mapping_size();

// Takes slots for [orig, orig+size) and copies the buffer in (every
// direction: a device that writes less than it was given must not expose
// stale pool bytes, as Linux does since 5.14). nullopt when exhausted or
// too large.
std::optional<PhysAddr> swiotlb_tbl_map_single(PhysAddr orig, size_t size, dma_data_direction dir);
// Copies back for FROM_DEVICE / BIDIRECTIONAL and releases the slots;
// false if tlb_addr is not the start of a live bounce mapping of `size`.
bool swiotlb_tbl_unmap_single(PhysAddr tlb_addr, size_t size, dma_data_direction dir);
// Partial syncs inside a live mapping.
void swiotlb_sync_single_for_cpu(PhysAddr tlb_addr, size_t size, dma_data_direction dir);
void swiotlb_sync_single_for_device(PhysAddr tlb_addr, size_t size, dma_data_direction dir);

bool is_swiotlb_buffer(PhysAddr pa);

struct SwiotlbInfo {
  uint32_t nslots;
  uint32_t used;
  uint32_t high_water;
  uint64_t bounced_bytes;  // copied in either direction
};
SwiotlbInfo swiotlb_info();

}  // namespace k
