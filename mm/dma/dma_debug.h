// DMA API debugging (Linux kernel/dma/debug.c, CONFIG_DMA_API_DEBUG):
// with `dma_debug=1` on the command line (or dma_debug_set_enabled()),
// every streaming mapping is tracked and misuse is reported with a
// "DMA-API:" error line:
//   - unmapping (or syncing) something never mapped,
//   - unmapping twice (the address was mapped and already unmapped),
//   - unmap/sync with a size or direction different from the map,
//   - the CPU touching a buffer the device owns (mapped and not handed
//     back with dma_sync_single_for_cpu), reported where a driver or test
//     declares a CPU access with dma_debug_cpu_access(),
//   - mappings still live when a device is destroyed.
// Tracking is bounded (kMaxEntries live mappings); beyond it checks are
// skipped with one warning, never a failure of the mapping.
#pragma once

#include <cstddef>
#include <cstdint>

#include "drivers/base/device.h"
#include "mm/dma/dma_mapping.h"

namespace k {

enum class DmaDebugError : uint8_t {
  kNotMapped,
  kDoubleUnmap,
  kSizeMismatch,
  kDirMismatch,
  kCpuAccessDeviceOwned,
  kLeakedMapping,
  kCount,
};

bool dma_debug_enabled();
void dma_debug_set_enabled(bool on);
// Reads dma_debug= from the command line (dma_init calls it).
void dma_debug_init();

// Hooks called by dma_mapping.cpp (no-ops when disabled).
void debug_dma_map(const Device* dev, DmaAddr addr, PhysAddr pa, size_t size,
                   dma_data_direction dir);
// false when the unmap must not go ahead (never mapped, or already
// unmapped): the error was reported. Always true when disabled.
bool debug_dma_unmap(const Device* dev, DmaAddr addr, size_t size, dma_data_direction dir);
void debug_dma_sync_for_cpu(const Device* dev, DmaAddr addr, size_t size, dma_data_direction dir);
void debug_dma_sync_for_device(const Device* dev, DmaAddr addr, size_t size,
                               dma_data_direction dir);
// Reports (and drops) every live mapping of dev.
void debug_dma_device_gone(const Device* dev);

// Declares that the CPU is about to access [cpu_addr, cpu_addr+size):
// reported if a live mapping of it is owned by the device.
void dma_debug_cpu_access(const void* cpu_addr, size_t size);

uint64_t dma_debug_error_count(DmaDebugError e);
uint64_t dma_debug_error_total();
// Live tracked mappings (0 when disabled).
size_t dma_debug_live_entries();

}  // namespace k
