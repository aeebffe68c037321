// A device's view of memory for DMA, computed from the devicetree (Linux
// drivers/of/device.c of_dma_configure_id, reduced): the dma-ranges windows
// of every bus above the device composed to CPU addresses (lib/fdt.h
// dma_ranges()), the bus address limit they imply, and coherence from
// dma-coherent / dma-noncoherent on the device or its buses.
//
// Plain data and pure functions over the DTB: also built on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "lib/fdt.h"
#include "lib/result.h"

namespace k {

// Linux DMA_BIT_MASK(n).
constexpr uint64_t dma_bit_mask(unsigned bits) {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}
// The smallest all-ones mask that covers `limit` (an inclusive bus address).
constexpr uint64_t dma_mask_covering(uint64_t limit) {
  uint64_t m = limit;
  m |= m >> 1;
  m |= m >> 2;
  m |= m >> 4;
  m |= m >> 8;
  m |= m >> 16;
  m |= m >> 32;
  return m;
}

struct DmaConfig {
  static constexpr size_t kMaxWindows = 8;
  fdt::DmaWindow windows[kMaxWindows];
  size_t nr_windows = 0;
  // True when some bus above the device has a non-empty dma-ranges (the
  // device does not simply see all of memory 1:1).
  bool restricted = false;
  // Highest bus address any window reaches (inclusive); Linux
  // dev->bus_dma_limit. ~0 for the identity window.
  uint64_t bus_limit = ~uint64_t{0};
  bool coherent = true;

  // CPU physical [pa, pa+size) -> bus address, when the whole range lies in
  // one window and ends at or below `mask` (the device's DMA mask).
  std::optional<uint64_t> phys_to_bus(uint64_t pa, uint64_t size, uint64_t mask) const;
  // Bus address -> CPU physical address, when a window holds it.
  std::optional<uint64_t> bus_to_phys(uint64_t bus) const;
  // Exclusive CPU-physical end of what the device reaches with `mask`
  // counted from the lowest window: the bound allocations for it must stay
  // under (Linux dma_direct_optimal_gfp_mask uses the same idea).
  uint64_t cpu_limit(uint64_t mask) const;
};

// Computes the configuration of device node `n`. dma-coherent and
// dma-noncoherent are looked up on n, then on each bus above it (the
// nearest says); `default_coherent` applies when none does. EINVAL when a
// dma-ranges is malformed or yields more windows than kMaxWindows.
Result<DmaConfig> dma_config_from_node(const fdt::Fdt& fdt, const fdt::Node& n,
                                       bool default_coherent);

// The interrupt numbers of device node n: the first cell of each specifier
// of `interrupts` (parent from interrupt-parent, inherited from the buses,
// whose #interrupt-cells gives the stride) or of `interrupts-extended`.
// Returns how many were written to out; nullopt if the properties are
// malformed or reference no controller.
std::optional<size_t> dt_irqs(const fdt::Fdt& fdt, const fdt::Node& n, uint32_t* out, size_t cap);

}  // namespace k
