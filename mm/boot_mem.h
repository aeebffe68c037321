// BootMemInfo: the plain description of physical memory that the boot code
// hands to mm/, filled from the devicetree by dt_memory_from_fdt()
// (mm/dt_memory.h) or by hand in tests.
//
// It is deliberately dumb data: no pointers into the DTB, fixed-capacity
// arrays sized far above what real trees carry (overflow is recorded and
// reported, never silently dropped), so it can live in .bss before any
// allocator exists. memblock (mm/memblock.h), which takes over from it,
// grows without limits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/result.h"
#include "lib/types.h"

namespace k {

// Highest number of NUMA nodes (Linux MAX_NUMNODES). Node ids come from the
// DT's numa-node-id and must be below this.
inline constexpr int kMaxNumNodes = 64;
inline constexpr int NUMA_NO_NODE = -1;
// Linux numa.txt / include/linux/topology.h: LOCAL_DISTANCE, REMOTE_DISTANCE.
inline constexpr uint8_t kLocalDistance = 10;
inline constexpr uint8_t kRemoteDistance = 20;

// Flags of a /reserved-memory child (Linux reserved-memory.yaml).
enum BootReservedFlags : uint32_t {
  kResvNoMap = 1u << 0,          // "no-map": keep out of the linear map
  kResvReusable = 1u << 1,       // "reusable": the OS may use it (CMA-like)
  kResvSharedDmaPool = 1u << 2,  // compatible = "shared-dma-pool"
  // Firmware-owned (OpenSBI's mmode_resv*, PMP-protected): never
  // allocatable and never mapped, whatever the DT says about no-map.
  kResvFirmware = 1u << 3,
  // Placed dynamically (size/alignment/alloc-ranges) by dt_memory.
  kResvDynamic = 1u << 4,
};

struct BootMemRegion {
  PhysRange range;
  int nid = NUMA_NO_NODE;
};

struct BootReservedRegion {
  // Static region: its range. kResvDynamic: the window it must be placed
  // in (alloc-ranges; the whole address space when absent).
  PhysRange range;
  uint64_t dyn_size = 0;   // kResvDynamic: bytes to allocate
  uint64_t dyn_align = 0;  // kResvDynamic: alignment (0 = page)
  uint32_t flags = 0;      // BootReservedFlags
  uint32_t phandle = 0;    // for devices' memory-region references; 0 = none
  char name[32] = {};      // DT node name, truncated
};

struct BootHartNode {
  uint64_t hartid = 0;
  int nid = NUMA_NO_NODE;
};

struct BootMemInfo {
  static constexpr size_t kMaxMemory = 128;  // Linux INIT_MEMBLOCK_REGIONS
  static constexpr size_t kMaxReserved = 64;
  static constexpr size_t kMaxHarts = 512;

  BootMemRegion memory[kMaxMemory];
  size_t nr_memory = 0;
  BootReservedRegion reserved[kMaxReserved];
  size_t nr_reserved = 0;

  PhysRange kernel;  // the loaded image, _start.._end (incl. BSS)
  PhysRange dtb;     // the flattened devicetree blob
  PhysRange initrd;  // size 0 = none

  // mem=: bytes of RAM to use (Linux memblock_enforce_memory_limit); 0 = all.
  uint64_t mem_limit = 0;
  // Exclusive physical upper bound of ZONE_DMA; 0 = no ZONE_DMA. Taken from
  // the most restrictive dma-ranges below 4 GiB, or zone_dma_bits=.
  uint64_t dma_zone_limit = 0;

  // distance[a][b]; 0 = not given (defaults: 10 local, 20 remote).
  uint8_t distance[kMaxNumNodes][kMaxNumNodes] = {};

  BootHartNode harts[kMaxHarts];
  size_t nr_harts = 0;

  // Entries that did not fit or were invalid; reported by the consumer.
  unsigned dropped = 0;

  bool add_memory(PhysRange r, int nid) {
    if (nr_memory == kMaxMemory) return ++dropped, false;
    memory[nr_memory++] = BootMemRegion{r, nid};
    return true;
  }
  bool add_reserved(PhysRange r, uint32_t flags, const char* name, uint32_t phandle = 0);
  bool add_dynamic_reserved(PhysRange window, uint64_t size, uint64_t align, uint32_t flags,
                            const char* name, uint32_t phandle = 0);
  bool add_hart(uint64_t hartid, int nid) {
    if (nr_harts == kMaxHarts) return ++dropped, false;
    harts[nr_harts++] = BootHartNode{hartid, nid};
    return true;
  }
  void set_distance(int a, int b, uint8_t d) {
    if (a >= 0 && b >= 0 && a < kMaxNumNodes && b < kMaxNumNodes) distance[a][b] = d;
  }
  // The effective distance with Linux's defaults filled in.
  uint8_t node_distance(int a, int b) const {
    if (a < 0 || b < 0 || a >= kMaxNumNodes || b >= kMaxNumNodes) return kRemoteDistance;
    if (distance[a][b]) return distance[a][b];
    return a == b ? kLocalDistance : kRemoteDistance;
  }
  // NUMA node of a hart, NUMA_NO_NODE if the DT did not say.
  int hart_node(uint64_t hartid) const {
    for (size_t i = 0; i < nr_harts; ++i)
      if (harts[i].hartid == hartid) return harts[i].nid;
    return NUMA_NO_NODE;
  }
};

// A /reserved-memory region as placed in memblock, kept for the DMA layer
// (shared-dma-pool, reusable) and for devices' memory-region phandles
// (Linux struct reserved_mem; MAX_RESERVED_REGIONS is also 64 there).
struct ReservedMem {
  char name[32] = {};
  PhysRange range;
  uint32_t flags = 0;  // BootReservedFlags
  uint32_t phandle = 0;
};

// Feeds BootMemInfo to memblock: RAM (with node ids when the DT gives them
// consistently), mem=, no-map and firmware regions (NOMAP + reserved), the
// kernel image, DTB, initrd and every reserved-memory region (reserved),
// then places dynamic reserved-memory regions. Records the reserved-memory
// regions for reserved_mem_*(). Errors: EINVAL without RAM, ENOMEM when
// memblock's arrays are full.
Result<void> memblock_init_from_bootmem(const BootMemInfo& info);

size_t reserved_mem_count();
const ReservedMem* reserved_mem(size_t i);
const ReservedMem* reserved_mem_lookup(uint32_t phandle);

}  // namespace k
