// Devicetree -> BootMemInfo. See dt_memory.h.
#include "mm/dt_memory.h"

#include <string_view>

#include "kernel/printk.h"
#include "lib/cmdline.h"
#include "lib/fdt_boot.h"

namespace k {

namespace {

constexpr uint64_t k4GiB = uint64_t{4} << 30;

// A NUL-terminated copy of a DT name for BootMemInfo (truncated).
struct NameBuf {
  char s[32];
  explicit NameBuf(std::string_view v) {
    size_t n = v.size() < sizeof s - 1 ? v.size() : sizeof s - 1;
    for (size_t i = 0; i < n; ++i) s[i] = v[i];
    s[n] = 0;
  }
};

// The highest CPU address + 1 reachable through one device's windows;
// 0 when a window spans everything.
uint64_t windows_limit(std::span<const fdt::DmaWindow> w) {
  uint64_t lim = 0;
  for (const fdt::DmaWindow& d : w) {
    if (d.size == fdt::kWholeSpace || d.cpu_start + d.size < d.cpu_start) return 0;
    if (d.cpu_start + d.size > lim) lim = d.cpu_start + d.size;
  }
  return lim;
}

void parse_bootargs(const fdt::Fdt& fdt, BootMemInfo* info) {
  auto args = fdt::chosen_bootargs(fdt);
  if (!args) return;
  if (auto mem = cmdline_get(*args, "mem")) {
    auto v = parse_u64(*mem);
    if (v && *v >= kPageSize)
      info->mem_limit = *v;
    else
      pr_warn("mem=%.*s: not a size, ignored\n", static_cast<int>(mem->size()), mem->data());
  }
  if (auto bits = cmdline_get(*args, "zone_dma_bits")) {
    auto v = parse_u64(*bits);
    if (!v || *v < 12 || *v > 63) {
      pr_warn("zone_dma_bits=%.*s: expected 12..63, ignored\n", static_cast<int>(bits->size()),
              bits->data());
    } else {
      const uint64_t lim = uint64_t{1} << *v;
      info->dma_zone_limit = lim < k4GiB ? lim : 0;
      pr_info("zone_dma_bits=%llu: ZONE_DMA below %#llx\n", static_cast<unsigned long long>(*v),
              static_cast<unsigned long long>(lim));
    }
  }
}

}  // namespace

uint64_t dt_dma_limit(const fdt::Fdt& fdt) {
  uint64_t best = 0;
  fdt.for_each_node([&](fdt::Node bus) {
    auto dr = bus.prop("dma-ranges");
    if (!dr || dr->empty() || !fdt::Fdt::status_okay(bus)) return;
    // The bus's windows as its devices see them (composed with every bus
    // above): evaluated through its first child.
    bus.for_each_child([&](fdt::Node child) {
      fdt::DmaWindow w[8];
      auto n = fdt.dma_ranges(child, w);
      if (!n) {
        pr_warn("dma-ranges of %.*s: malformed, ignored\n", static_cast<int>(bus.name().size()),
                bus.name().data());
        return false;
      }
      const uint64_t lim = windows_limit(std::span<const fdt::DmaWindow>(w, *n));
      if (lim && (!best || lim < best)) best = lim;
      return false;
    });
  });
  return best;
}

Result<void> dt_memory_from_fdt(const fdt::Fdt& fdt, PhysRange dtb, PhysRange kernel,
                                BootMemInfo* info) {
  info->kernel = kernel;
  info->dtb = dtb;
  fdt::for_each_memory_region(fdt, [&](PhysRange r, int nid) {
    if (nid >= kMaxNumNodes) {
      pr_warn("memory [%#llx+%#llx]: numa-node-id %d >= %d\n",
              static_cast<unsigned long long>(r.base.value()),
              static_cast<unsigned long long>(r.size), nid, kMaxNumNodes);
    }
    info->add_memory(r, nid);
  });
  if (!info->nr_memory) {
    pr_err("devicetree: no memory node\n");
    return Errno::kEINVAL;
  }
  fdt.for_each_mem_rsv([&](uint64_t addr, uint64_t size) {
    if (size) info->add_reserved(PhysRange{PhysAddr(addr), size}, 0, "memreserve");
  });
  fdt::for_each_reserved_region(fdt, [&](const fdt::ReservedRegion& r) {
    uint32_t flags = 0;
    if (r.no_map) flags |= kResvNoMap;
    if (r.reusable) flags |= kResvReusable;
    if (r.shared_dma_pool) flags |= kResvSharedDmaPool;
    if (r.name.starts_with("mmode_resv")) flags |= kResvFirmware;
    const NameBuf name(r.name);
    if (!r.dynamic) {
      info->add_reserved(r.range, flags, name.s, r.phandle);
      return;
    }
    if (!r.size) {
      pr_warn("reserved-memory %s: neither reg nor size, ignored\n", name.s);
      return;
    }
    PhysRange window{PhysAddr(0), 0};  // anywhere
    fdt::for_each_alloc_range(fdt, r, [&](PhysRange w) {
      window = w;
      return false;  // first window only
    });
    info->add_dynamic_reserved(window, r.size, r.align, flags, name.s, r.phandle);
  });
  if (auto initrd = fdt::chosen_initrd(fdt)) info->initrd = *initrd;

  // Nodes in use (memory or harts) and their distances.
  bool used[kMaxNumNodes] = {};
  for (size_t i = 0; i < info->nr_memory; ++i)
    if (info->memory[i].nid >= 0 && info->memory[i].nid < kMaxNumNodes)
      used[info->memory[i].nid] = true;
  fdt::for_each_hart(fdt, [&](const fdt::HartInfo& h) {
    if (!h.okay || !h.has_mmu) return;
    info->add_hart(h.hartid, h.nid);
    if (h.nid >= 0 && h.nid < kMaxNumNodes) used[h.nid] = true;
  });
  for (int a = 0; a < kMaxNumNodes; ++a)
    for (int b = 0; b < kMaxNumNodes; ++b)
      if (used[a] && used[b]) {
        const uint32_t d =
            fdt::numa_distance(fdt, static_cast<uint32_t>(a), static_cast<uint32_t>(b));
        info->set_distance(a, b, d > 0 && d < 256 ? static_cast<uint8_t>(d) : kRemoteDistance);
      }

  const uint64_t dma = dt_dma_limit(fdt);
  if (dma && dma < k4GiB) {
    info->dma_zone_limit = dma;
    pr_info("devicetree: dma-ranges limit devices to %#llx: ZONE_DMA below it\n",
            static_cast<unsigned long long>(dma));
  }
  parse_bootargs(fdt, info);  // zone_dma_bits= overrides dma-ranges
  if (info->dropped)
    pr_warn("devicetree: %u memory/reserved/hart entries exceed BootMemInfo's capacity\n",
            info->dropped);
  return {};
}

}  // namespace k
