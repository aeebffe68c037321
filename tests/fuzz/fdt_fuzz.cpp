// libFuzzer target for lib/fdt and lib/fdt_boot: parse arbitrary bytes; if
// they are accepted, libfdt's full check must accept them too, and
// everything is walked through the public API. Any crash, sanitizer report
// or hang is a bug (TESTING.md layer 2).
#include <libfdt.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lib/fdt.h"
#include "lib/fdt_boot.h"

namespace {

using k::fdt::Fdt;
using k::fdt::Node;
using k::fdt::Prop;

// Keeps the optimizer from dropping reads.
volatile uint64_t g_sink;

void touch_prop(const Prop& p) {
  uint64_t acc = p.size();
  for (uint8_t b : p.data()) acc += b;
  if (auto s = p.str()) acc += s->size();
  p.for_each_string([&](std::string_view s) { acc += s.size(); });
  acc += p.string_count();
  acc += p.has_string("okay");
  for (size_t i = 0; i < 4; ++i) {
    acc += p.u32(i).value_or(0);
    acc += p.u64(i).value_or(0);
    acc += p.cells(i, 1).value_or(0) + p.cells(i, 2).value_or(0);
  }
  acc += p.u32_or_u64().value_or(0);
  g_sink = acc;
}

void walk(const Fdt& f) {
  uint64_t acc = f.total_size() + f.mem_rsv_count();
  f.for_each_mem_rsv([&](uint64_t a, uint64_t s) { acc += a ^ s; });
  size_t nodes = 0;
  f.for_each_node([&](Node n) {
    // Bound the quadratic work (parent() per node) on huge inputs.
    if (++nodes > 2000) return false;
    acc += n.name().size() + n.base_name().size() + n.unit_address().size();
    n.for_each_prop([&](const Prop& p) {
      touch_prop(p);
      auto again = n.prop(p.name());
      acc += again.has_value();
    });
    size_t children = 0;
    n.for_each_child([&](Node c) {
      acc += c.offset();
      if (auto byname = n.child(c.name())) acc += byname->offset();
      return ++children < 64;
    });
    acc += n.address_cells() + n.size_cells();
    if (auto p = n.parent()) acc += p->offset();
    if (auto ph = n.phandle()) {
      if (auto m = f.find_by_phandle(*ph)) acc += m->offset();
    }
    acc += Fdt::is_compatible(n, "simple-bus") + Fdt::status_okay(n);
    const size_t regs = f.reg_count(n);
    for (size_t i = 0; i < regs && i < 8; ++i) {
      if (auto r = f.reg(n, i)) acc += r->addr + r->size;
      if (auto r = f.reg_translated(n, i)) acc += r->addr;
    }
    acc += f.translate(n, 0).value_or(0);
    k::fdt::DmaWindow w[4];
    if (auto c = f.dma_ranges(n, w)) {
      for (size_t i = 0; i < *c; ++i) acc += w[i].cpu_start + w[i].bus_start + w[i].size;
    }
    return true;
  });

  for (const char* path : {"/", "/chosen", "/cpus", "/memory", "/soc/serial", "serial0",
                           "serial0/x", "/reserved-memory", "//", "/a/b/c/d"}) {
    if (auto n = f.find(path)) acc += n->offset();
  }
  f.for_each_compatible("ns16550a", [&](Node n) { acc += n.offset(); });

  k::fdt::for_each_memory_region(f, [&](k::PhysRange r, int nid) { acc += r.size + nid; });
  k::fdt::for_each_reserved_region(f, [&](const k::fdt::ReservedRegion& r) {
    acc += r.range.size + r.size + r.align + r.phandle + r.no_map;
    k::fdt::for_each_alloc_range(f, r, [&](k::PhysRange a) { acc += a.size; });
  });
  k::fdt::for_each_hart(f, [&](const k::fdt::HartInfo& h) {
    acc += h.hartid + h.mmu_levels + h.isa.size() + static_cast<uint64_t>(h.nid);
  });
  if (auto b = k::fdt::chosen_bootargs(f)) acc += b->size();
  if (auto i = k::fdt::chosen_initrd(f)) acc += i->size;
  if (auto s = k::fdt::chosen_stdout(f)) acc += s->options.size() + s->node.offset();
  acc += k::fdt::timebase_frequency(f).value_or(0);
  acc += k::fdt::numa_distance(f, 0, 1) + k::fdt::numa_distance(f, 1, 1);
  g_sink = acc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exactly sized copy, so ASan catches any read past max_len.
  std::vector<uint8_t> buf(data, data + size);
  k::fdt::ParseError err;
  auto f = Fdt::parse(buf.data(), buf.size(), &err);
  if (!f) {
    if (!err.what || err.offset > size) __builtin_trap();
    return 0;
  }
  if (f->total_size() > size) __builtin_trap();
  // Differential check: this reader is never more lenient than libfdt.
  if (fdt_check_full(buf.data(), buf.size()) != 0) __builtin_trap();
  walk(*f);
  return 0;
}
