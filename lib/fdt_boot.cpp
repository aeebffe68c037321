// Boot-time devicetree queries (see lib/fdt_boot.h).
#include "lib/fdt_boot.h"

namespace k::fdt {

namespace {

bool sv_eq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

int numa_node_id(const Node& n) {
  auto p = n.prop("numa-node-id");
  if (!p || p->size() != 4) return kNumaNoNode;
  const uint32_t v = *p->u32(0);
  // Linux caps node ids far below this; anything larger is garbage.
  return v > 0xffff ? kNumaNoNode : static_cast<int>(v);
}

int mmu_type_levels(std::string_view t) {
  // Linux Documentation/devicetree/bindings/riscv/cpus.yaml: mmu-type.
  if (sv_eq(t, "riscv,sv39")) return 3;
  if (sv_eq(t, "riscv,sv48")) return 4;
  if (sv_eq(t, "riscv,sv57")) return 5;
  return 0;
}

std::optional<HartInfo> hart_info(const Fdt& fdt, const Node& cpu) {
  auto dt = cpu.prop("device_type");
  if (!dt || !dt->is_string("cpu")) return std::nullopt;
  // DT spec 3.8: a cpu's reg is its hart id, in /cpus' #address-cells
  // (#size-cells = 0).
  auto r = fdt.reg(cpu, 0);
  if (!r) return std::nullopt;
  HartInfo h;
  h.hartid = r->addr;
  h.okay = Fdt::status_okay(cpu);
  h.node = cpu;
  if (auto mt = cpu.prop("mmu-type")) {
    if (auto s = mt->str()) {
      h.mmu_levels = mmu_type_levels(*s);
      h.has_mmu = !sv_eq(*s, "riscv,none");
    }
  }
  if (auto isa = cpu.prop("riscv,isa")) {
    if (auto s = isa->str()) h.isa = *s;
  }
  h.nid = numa_node_id(cpu);
  return h;
}

std::optional<ReservedRegion> reserved_region_info(const Fdt& fdt, const Node& n) {
  ReservedRegion r;
  r.name = n.name();
  r.node = n;
  r.no_map = n.has_prop("no-map");
  r.reusable = n.has_prop("reusable");
  r.shared_dma_pool = Fdt::is_compatible(n, "shared-dma-pool");
  r.phandle = n.phandle().value_or(0);
  if (n.has_prop("reg")) return fdt.reg_count(n) ? std::optional<ReservedRegion>(r) : std::nullopt;
  // reserved-memory.yaml: a dynamic region has `size` (and optionally
  // `alignment`, `alloc-ranges`) in the parent's #size-cells.
  auto parent = n.parent();
  auto size = n.prop("size");
  if (!parent || !size) return std::nullopt;
  const uint32_t sc = parent->size_cells();
  if (sc < 1 || sc > 2 || size->size() != sc * 4) return std::nullopt;
  r.dynamic = true;
  r.size = *size->cells(0, sc);
  if (r.size == 0) return std::nullopt;
  if (auto a = n.prop("alignment"); a && a->size() == sc * 4) r.align = *a->cells(0, sc);
  return r;
}

std::optional<std::string_view> chosen_bootargs(const Fdt& fdt) {
  auto chosen = fdt.find("/chosen");
  if (!chosen) return std::nullopt;
  auto p = chosen->prop("bootargs");
  return p ? p->str() : std::nullopt;
}

std::optional<PhysRange> chosen_initrd(const Fdt& fdt) {
  auto chosen = fdt.find("/chosen");
  if (!chosen) return std::nullopt;
  auto s = chosen->prop("linux,initrd-start");
  auto e = chosen->prop("linux,initrd-end");
  if (!s || !e) return std::nullopt;
  auto start = s->u32_or_u64();
  auto end = e->u32_or_u64();
  if (!start || !end || *end <= *start) return std::nullopt;
  return PhysRange{PhysAddr(*start), *end - *start};
}

std::optional<StdoutPath> chosen_stdout(const Fdt& fdt) {
  auto chosen = fdt.find("/chosen");
  if (!chosen) return std::nullopt;
  auto p = chosen->prop("stdout-path");
  if (!p) p = chosen->prop("linux,stdout-path");
  if (!p) return std::nullopt;
  auto s = p->str();
  if (!s || s->empty()) return std::nullopt;
  // DT spec 3.6: "path[:options]"; the path may be an alias.
  size_t colon = 0;
  while (colon < s->size() && (*s)[colon] != ':') ++colon;
  auto node = fdt.find(std::string_view(s->data(), colon));
  if (!node) return std::nullopt;
  StdoutPath out;
  out.node = *node;
  out.options = colon < s->size() ? std::string_view(s->data() + colon + 1, s->size() - colon - 1)
                                  : std::string_view();
  return out;
}

std::optional<Node> stdout_node(const Fdt& fdt) {
  auto s = chosen_stdout(fdt);
  if (!s) return std::nullopt;
  return s->node;
}

std::optional<uint64_t> timebase_frequency(const Fdt& fdt) {
  auto cpus = fdt.find("/cpus");
  if (!cpus) return std::nullopt;
  if (auto p = cpus->prop("timebase-frequency")) return p->u32_or_u64();
  std::optional<uint64_t> f;
  cpus->for_each_child([&](Node c) {
    if (auto p = c.prop("timebase-frequency")) f = p->u32_or_u64();
    return !f;
  });
  return f;
}

uint32_t numa_distance(const Fdt& fdt, uint32_t a, uint32_t b) {
  uint32_t d = a == b ? kLocalDistance : kRemoteDistance;
  // Linux numa.txt: distance-matrix is <from to distance> triples; a pair
  // given in one direction applies to both.
  fdt.for_each_compatible("numa-distance-map-v1", [&](Node n) {
    auto m = n.prop("distance-matrix");
    if (!m) return true;
    const size_t triples = m->size() / 12;
    bool exact = false;
    for (size_t i = 0; i < triples; ++i) {
      const uint32_t from = *m->u32(i * 3), to = *m->u32(i * 3 + 1);
      if (from == a && to == b) {
        d = *m->u32(i * 3 + 2);
        exact = true;
      } else if (from == b && to == a && !exact) {
        d = *m->u32(i * 3 + 2);
      }
    }
    return false;
  });
  return d;
}

}  // namespace k::fdt
