#include "drivers/base/dma_config.h"

#include <span>

namespace k {
namespace {

constexpr uint64_t kAll = ~uint64_t{0};

// Inclusive last bus address of a window.
uint64_t window_bus_last(const fdt::DmaWindow& w) {
  if (w.size == fdt::kWholeSpace || w.size - 1 > kAll - w.bus_start) return kAll;
  return w.bus_start + w.size - 1;
}

// DT spec 2.3.9 / Linux of_dma_is_coherent(): the nearest of the device
// and its buses that says dma-coherent or dma-noncoherent decides.
bool coherence(const fdt::Fdt& fdt, const fdt::Node& n, bool dflt) {
  std::optional<fdt::Node> cur = n;
  for (int depth = 0; cur && depth <= fdt::kMaxDepth; ++depth) {
    if (cur->has_prop("dma-noncoherent")) return false;
    if (cur->has_prop("dma-coherent")) return true;
    cur = fdt.parent(*cur);
  }
  return dflt;
}

std::optional<fdt::Node> interrupt_parent(const fdt::Fdt& fdt, const fdt::Node& n) {
  std::optional<fdt::Node> cur = n;
  for (int depth = 0; cur && depth <= fdt::kMaxDepth; ++depth) {
    if (auto ip = cur->prop("interrupt-parent")) {
      auto ph = ip->u32();
      if (!ph) return std::nullopt;
      return fdt.find_by_phandle(*ph);
    }
    cur = fdt.parent(*cur);
  }
  return std::nullopt;
}

std::optional<uint32_t> interrupt_cells(const fdt::Node& ctrl) {
  auto p = ctrl.prop("#interrupt-cells");
  if (!p) return std::nullopt;
  auto v = p->u32();
  if (!v || *v == 0 || *v > 4) return std::nullopt;
  return v;
}

// DT spec 2.3.9: each dma-ranges entry is (child-bus-address,
// parent-bus-address, length) in the bus's #address-cells, its parent's
// #address-cells and the bus's #size-cells. A length that is not a whole
// number of entries is malformed (Linux of_dma_get_range: -EINVAL).
bool dma_ranges_well_formed(const fdt::Fdt& fdt, const fdt::Node& n) {
  std::optional<fdt::Node> bus = fdt.parent(n);
  for (int depth = 0; bus && !bus->is_root() && depth <= fdt::kMaxDepth; ++depth) {
    auto up = fdt.parent(*bus);
    if (auto dr = bus->prop("dma-ranges"); dr && !dr->empty() && up) {
      const size_t stride = 4u * (bus->address_cells() + up->address_cells() + bus->size_cells());
      if (stride == 0 || dr->size() % stride != 0) return false;
    }
    bus = up;
  }
  return true;
}

}  // namespace

std::optional<uint64_t> DmaConfig::phys_to_bus(uint64_t pa, uint64_t size, uint64_t mask) const {
  const uint64_t len = size ? size : 1;
  for (size_t i = 0; i < nr_windows; ++i) {
    const fdt::DmaWindow& w = windows[i];
    if (pa < w.cpu_start) continue;
    const uint64_t off = pa - w.cpu_start;
    if (w.size != fdt::kWholeSpace && (len > w.size || off > w.size - len)) continue;
    const uint64_t bus = w.bus_start + off;
    if (bus < w.bus_start || len - 1 > kAll - bus) continue;  // wraps
    const uint64_t last = bus + len - 1;
    if (last > mask || last > bus_limit) continue;
    return bus;
  }
  return std::nullopt;
}

std::optional<uint64_t> DmaConfig::bus_to_phys(uint64_t bus) const {
  for (size_t i = 0; i < nr_windows; ++i) {
    const fdt::DmaWindow& w = windows[i];
    if (bus < w.bus_start || bus > window_bus_last(w)) continue;
    return w.cpu_start + (bus - w.bus_start);
  }
  return std::nullopt;
}

uint64_t DmaConfig::cpu_limit(uint64_t mask) const {
  const uint64_t eff = mask < bus_limit ? mask : bus_limit;
  uint64_t best = 0;
  for (size_t i = 0; i < nr_windows; ++i) {
    const fdt::DmaWindow& w = windows[i];
    if (w.bus_start > eff) continue;
    const uint64_t last = window_bus_last(w) < eff ? window_bus_last(w) : eff;
    const uint64_t span = last - w.bus_start;  // bytes - 1
    uint64_t end = w.cpu_start + span;
    if (end < w.cpu_start || end == kAll) return kAll;  // reaches the top
    end += 1;
    if (end > best) best = end;
  }
  return best;
}

Result<DmaConfig> dma_config_from_node(const fdt::Fdt& fdt, const fdt::Node& n,
                                       bool default_coherent) {
  DmaConfig c;
  if (!dma_ranges_well_formed(fdt, n)) return Errno::kEINVAL;
  auto nw = fdt.dma_ranges(n, std::span<fdt::DmaWindow>(c.windows, DmaConfig::kMaxWindows));
  if (!nw) return Errno::kEINVAL;
  c.nr_windows = *nw;
  c.restricted = !(c.nr_windows == 1 && c.windows[0].cpu_start == 0 &&
                   c.windows[0].bus_start == 0 && c.windows[0].size == fdt::kWholeSpace);
  c.bus_limit = 0;
  for (size_t i = 0; i < c.nr_windows; ++i) {
    const uint64_t last = window_bus_last(c.windows[i]);
    if (last > c.bus_limit) c.bus_limit = last;
  }
  c.coherent = coherence(fdt, n, default_coherent);
  return c;
}

std::optional<size_t> dt_irqs(const fdt::Fdt& fdt, const fdt::Node& n, uint32_t* out, size_t cap) {
  size_t count = 0;
  if (auto ie = n.prop("interrupts-extended")) {
    // (phandle, specifier...) tuples, each controller with its own cells.
    const size_t cells = ie->size() / 4;
    size_t i = 0;
    while (i < cells) {
      auto ph = ie->u32(i);
      if (!ph) return std::nullopt;
      auto ctrl = fdt.find_by_phandle(*ph);
      if (!ctrl) return std::nullopt;
      auto nc = interrupt_cells(*ctrl);
      if (!nc || i + 1 + *nc > cells) return std::nullopt;
      if (count < cap) out[count] = *ie->u32(i + 1);
      ++count;
      i += 1 + *nc;
    }
    return count < cap ? count : cap;
  }
  auto irqs = n.prop("interrupts");
  if (!irqs) return size_t{0};
  auto ctrl = interrupt_parent(fdt, n);
  if (!ctrl) return std::nullopt;
  auto nc = interrupt_cells(*ctrl);
  if (!nc) return std::nullopt;
  const size_t cells = irqs->size() / 4;
  if (cells % *nc != 0) return std::nullopt;
  for (size_t i = 0; i < cells; i += *nc) {
    if (count < cap) out[count] = *irqs->u32(i);
    ++count;
  }
  return count < cap ? count : cap;
}

}  // namespace k
