// The device model: one Device per devicetree node a driver binds to,
// carrying what the DMA layer and the interrupt layer need (Linux struct
// device + of_dma_configure + of_reserved_mem_device_init, reduced).
//
//   bool my_probe(const fdt::Fdt& fdt, const fdt::Node& node) {
//     auto dev = device_create(fdt, node);
//     if (!dev) return false;
//     ... (*dev)->irqs[0], dma_alloc_coherent(*dev, ...)
//
// Created devices are registered (device_find, for_each_device) until
// device_destroy().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "drivers/base/dma_config.h"
#include "lib/fdt.h"
#include "lib/list.h"
#include "lib/result.h"
#include "mm/boot_mem.h"

namespace k {

struct DmaCoherentPool;  // mm/dma/dma_coherent_pool.h

struct Device {
  static constexpr size_t kMaxIrqs = 8;

  char name[48] = {};
  fdt::Node node;  // not valid() for devices built by device_init_fake()
  DmaConfig dma;
  // Linux's defaults for platform devices: 32-bit masks until the driver
  // says more (dma_set_mask_and_coherent, mm/dma/dma_mapping.h).
  uint64_t dma_mask = dma_bit_mask(32);
  uint64_t coherent_dma_mask = dma_bit_mask(32);
  // Bounce every streaming mapping (Linux swiotlb=force, per device).
  bool force_bounce = false;
  uint32_t irqs[kMaxIrqs] = {};
  size_t nr_irqs = 0;
  // memory-region (reserved-memory) and, for a shared-dma-pool, the
  // allocator coherent allocations come from.
  const ReservedMem* mem_region = nullptr;
  DmaCoherentPool* coherent_pool = nullptr;
  void* driver_data = nullptr;
  ListNode link;
};

// Builds, configures and registers the device of `node`: name from the
// node path's last component, DMA windows and coherence
// (dma_config_from_node with the platform default), interrupts (dt_irqs),
// memory-region (first phandle; a shared-dma-pool becomes the device's
// coherent pool). EINVAL for malformed DMA or interrupt properties or an
// unknown memory-region, ENOMEM without memory.
Result<Device*> device_create(const fdt::Fdt& fdt, const fdt::Node& node);
// Unregisters and frees a device from device_create() (its coherent pool
// included: every allocation from it must have been freed).
void device_destroy(Device* dev);

// A stand-alone device for tests and for code that has no DT node: one
// identity window over all memory, 64-bit masks, given coherence. Not
// registered.
void device_init_fake(Device& dev, const char* name, bool coherent);

Device* device_find(std::string_view name);
size_t device_count();
template <typename F>
void for_each_device(F f);

// Coherence of devices whose DT says neither dma-coherent nor
// dma-noncoherent (FACTS.md: RISC-V platforms default to coherent). A
// board file may change it before drivers probe.
void set_dma_default_coherent(bool coherent);
bool dma_default_coherent();

// ---- internals for the template ----
ListHead& device_list_head();

template <typename F>
void for_each_device(F f) {
  device_list_head().for_each([&](ListNode* n) { f(*container_of(n, &Device::link)); });
}

}  // namespace k
