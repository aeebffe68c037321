// What the boot code reads from the devicetree: RAM, reserved memory, harts,
// /chosen, NUMA distances. Thin helpers over lib/fdt.h with the same
// early-boot constraints (plain code, MMU off, no static pointers).
//
// Bindings followed:
//   /memory        DT spec 3.4; numa-node-id: Linux numa.txt
//   /reserved-memory  DT spec 3.5 and Linux reserved-memory.yaml
//   /cpus          DT spec 3.7/3.8 and Linux riscv/cpus.yaml (mmu-type,
//                  riscv,isa)
//   /chosen        DT spec 3.6 (bootargs, stdout-path) and Linux chosen.txt
//                  (linux,initrd-start/end)
//   /distance-map  Linux numa.txt (numa-distance-map-v1)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "lib/fdt.h"
#include "lib/types.h"

namespace k::fdt {

// Linux numa.txt: the distance of a node to itself, and the default remote
// distance when /distance-map says nothing.
inline constexpr uint32_t kLocalDistance = 10;
inline constexpr uint32_t kRemoteDistance = 20;

struct HartInfo {
  uint64_t hartid = 0;
  bool okay = false;      // status absent/"okay"/"ok"
  bool has_mmu = false;   // mmu-type present and not "riscv,none"
  int mmu_levels = 0;     // 3 sv39, 4 sv48, 5 sv57, 0 none/unknown
  std::string_view isa;   // riscv,isa ("" if absent)
  int nid = kNumaNoNode;  // numa-node-id
  Node node;
};

struct ReservedRegion {
  std::string_view name;  // node name ("mmode_resv0@80000000")
  // Static regions: one call per reg entry, with `range` set. Dynamic
  // regions (no reg): `dynamic` set, `size`/`align` from the node, range
  // empty; use for_each_alloc_range() for the allowed windows.
  PhysRange range;
  bool dynamic = false;
  uint64_t size = 0;
  uint64_t align = 0;
  bool no_map = false;
  bool reusable = false;
  bool shared_dma_pool = false;  // compatible = "shared-dma-pool"
  uint32_t phandle = 0;          // 0 if none
  Node node;
};

struct StdoutPath {
  Node node;
  std::string_view options;  // text after ':' ("115200n8"), may be empty
};

// Each RAM range of every usable root child with device_type = "memory".
// Zero-sized entries are skipped. F(PhysRange range, int nid) -> void/bool.
template <typename F>
void for_each_memory_region(const Fdt& fdt, F f);

// Each child of /reserved-memory with usable status. F(const ReservedRegion&).
template <typename F>
void for_each_reserved_region(const Fdt& fdt, F f);

// alloc-ranges of a dynamic region. F(PhysRange) -> void/bool.
template <typename F>
void for_each_alloc_range(const Fdt& fdt, const ReservedRegion& r, F f);

// Each /cpus child with device_type = "cpu" and a decodable reg, whatever
// its status. F(const HartInfo&) -> void/bool.
template <typename F>
void for_each_hart(const Fdt& fdt, F f);

// Decodes one cpu node (nullopt if it is not a cpu or its reg is bad).
std::optional<HartInfo> hart_info(const Fdt& fdt, const Node& cpu);

// mmu-type string -> levels (3/4/5), 0 for "riscv,none" or unknown.
int mmu_type_levels(std::string_view mmu_type);

std::optional<std::string_view> chosen_bootargs(const Fdt& fdt);
// linux,initrd-start .. linux,initrd-end (each 32 or 64 bit); nullopt if
// absent or end <= start.
std::optional<PhysRange> chosen_initrd(const Fdt& fdt);
// /chosen stdout-path (or linux,stdout-path), with ":options" split off and
// aliases resolved.
std::optional<StdoutPath> chosen_stdout(const Fdt& fdt);
std::optional<Node> stdout_node(const Fdt& fdt);
// /cpus timebase-frequency, else the first cpu node's.
std::optional<uint64_t> timebase_frequency(const Fdt& fdt);
// Distance between NUMA nodes a and b from the numa-distance-map-v1 node;
// kLocalDistance for a == b and kRemoteDistance when unspecified.
uint32_t numa_distance(const Fdt& fdt, uint32_t a, uint32_t b);
// numa-node-id of a node, kNumaNoNode if absent.
int numa_node_id(const Node& n);

// ---- template definitions ----

template <typename F>
void for_each_memory_region(const Fdt& fdt, F f) {
  bool go = true;
  fdt.root().for_each_child([&](Node n) {
    auto dt = n.prop("device_type");
    if (!dt || !dt->is_string("memory") || !Fdt::status_okay(n)) return true;
    const int nid = numa_node_id(n);
    const size_t count = fdt.reg_count(n);
    for (size_t i = 0; i < count && go; ++i) {
      auto r = fdt.reg_translated(n, i);
      if (!r || r->size == 0) continue;
      go = detail::keep_going(f, PhysRange{PhysAddr(r->addr), r->size}, nid);
    }
    return go;
  });
}

std::optional<ReservedRegion> reserved_region_info(const Fdt& fdt, const Node& n);

template <typename F>
void for_each_reserved_region(const Fdt& fdt, F f) {
  auto rm = fdt.find("/reserved-memory");
  if (!rm) return;
  bool go = true;
  rm->for_each_child([&](Node n) {
    if (!Fdt::status_okay(n)) return true;
    auto info = reserved_region_info(fdt, n);
    if (!info) return true;
    if (info->dynamic) return go = detail::keep_going(f, static_cast<const ReservedRegion&>(*info));
    const size_t count = fdt.reg_count(n);
    for (size_t i = 0; i < count && go; ++i) {
      auto r = fdt.reg(n, i);
      if (!r || r->size == 0) continue;
      info->range = PhysRange{PhysAddr(r->addr), r->size};
      go = detail::keep_going(f, static_cast<const ReservedRegion&>(*info));
    }
    return go;
  });
}

template <typename F>
void for_each_alloc_range(const Fdt& fdt, const ReservedRegion& r, F f) {
  auto parent = r.node.parent();
  auto ar = r.node.prop("alloc-ranges");
  if (!parent || !ar) return;
  const uint32_t ac = parent->address_cells(), sc = parent->size_cells();
  if (ac < 1 || ac > 2 || sc < 1 || sc > 2) return;
  const size_t stride = ac + sc;
  const size_t n = ar->size() / 4 / stride;
  for (size_t i = 0; i < n; ++i) {
    auto a = ar->cells(i * stride, ac);
    auto s = ar->cells(i * stride + ac, sc);
    if (!a || !s || *s == 0) continue;
    if (!detail::keep_going(f, PhysRange{PhysAddr(*a), *s})) return;
  }
  (void)fdt;
}

template <typename F>
void for_each_hart(const Fdt& fdt, F f) {
  auto cpus = fdt.find("/cpus");
  if (!cpus) return;
  cpus->for_each_child([&](Node n) {
    auto h = hart_info(fdt, n);
    if (!h) return true;
    return detail::keep_going(f, static_cast<const HartInfo&>(*h));
  });
}

}  // namespace k::fdt
