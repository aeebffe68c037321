// Fills BootMemInfo from the devicetree (the DT half of Linux's
// early_init_dt_scan_memory, early_init_fdt_scan_reserved_mem,
// of_dma_get_max_cpu_address and of_numa_init).
//
//   /memory*            RAM banks with numa-node-id           (DT spec 3.4)
//   /memreserve/ block  reserved                              (DT spec 5.3)
//   /reserved-memory/*  reserved; no-map, reusable, shared-dma-pool;
//                       size/alignment/alloc-ranges regions are placed
//                       later by memblock (first alloc-range only)
//                       (Linux reserved-memory.yaml)
//                       Children named "mmode_resv*" are OpenSBI's own
//                       PMP-protected region, which OpenSBI <= 1.2 reports
//                       without no-map: firmware, never mapped or allocated.
//   dma-ranges          ZONE_DMA ends at the lowest CPU address limit any
//                       bus's dma-ranges imposes on its devices, if below
//                       4 GiB (DT spec 2.3.9)
//   /distance-map       node distances (Linux numa.txt)
//   /cpus               hart -> node for harts that are okay and have an MMU
//   /chosen             linux,initrd-*, bootargs: mem=, zone_dma_bits=
#pragma once

#include "lib/fdt.h"
#include "lib/result.h"
#include "lib/types.h"
#include "mm/boot_mem.h"

namespace k {

// `dtb` is where the blob lies and `kernel` the loaded image (both are
// reserved). Always yields a usable description; EINVAL when the DT has no
// memory at all.
Result<void> dt_memory_from_fdt(const fdt::Fdt& fdt, PhysRange dtb, PhysRange kernel,
                                BootMemInfo* info);

// The exclusive CPU-physical limit the most restrictive dma-ranges puts on
// devices (0 = none found / no limit below 2^64).
uint64_t dt_dma_limit(const fdt::Fdt& fdt);

}  // namespace k
