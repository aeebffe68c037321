// lib/fdt and lib/fdt_boot against libfdt and against hand-computed values.
//
// Blobs: tests/data/dtb/*.dtb (QEMU virt 1 hart / 4 harts + 2 NUMA nodes,
// sifive_u, and the hand-written reserved.dts fixture; regen.sh rebuilds
// them). Every *.dtb found there is compared against libfdt.
#include <libfdt.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lib/fdt.h"
#include "lib/fdt_boot.h"

namespace {

using k::fdt::DmaWindow;
using k::fdt::Fdt;
using k::fdt::Node;
using k::fdt::ParseError;
using k::fdt::Prop;

using Blob = std::vector<uint8_t>;

Blob load(const std::string& name) {
  std::ifstream f(std::string(FDT_DATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  return Blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<std::string> all_blobs() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(FDT_DATA_DIR))
    if (e.path().extension() == ".dtb") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Fdt must_parse(const Blob& b) {
  ParseError err;
  auto f = Fdt::parse(b.data(), b.size(), &err);
  if (!f) ADD_FAILURE() << "parse failed: " << err.what << " at " << err.offset;
  return *f;
}

std::string sv(std::string_view s) { return std::string(s); }

// ---------------------------------------------------------------------------
// Comparison with libfdt on every blob.

class FdtVsLibfdt : public ::testing::TestWithParam<std::string> {};

TEST_P(FdtVsLibfdt, every_node_path_and_property_matches_libfdt) {
  const Blob blob = load(GetParam());
  const void* lf = blob.data();
  ASSERT_EQ(fdt_check_full(lf, blob.size()), 0);
  const Fdt f = must_parse(blob);
  EXPECT_EQ(f.total_size(), fdt_totalsize(lf));
  EXPECT_EQ(f.version(), fdt_version(lf));
  EXPECT_EQ(f.boot_cpuid(), fdt_boot_cpuid_phys(lf));

  int lib_nodes = 0;
  for (int off = fdt_next_node(lf, -1, nullptr); off >= 0; off = fdt_next_node(lf, off, nullptr)) {
    ++lib_nodes;
    char path[512];
    ASSERT_EQ(fdt_get_path(lf, off, path, sizeof path), 0);
    SCOPED_TRACE(path);
    auto n = f.find(path);
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->offset(), static_cast<uint32_t>(off));
    int len = 0;
    EXPECT_EQ(sv(n->name()), std::string(fdt_get_name(lf, off, &len)));

    // Properties: same order, names, lengths and bytes.
    std::vector<std::pair<std::string, Blob>> lib_props, our_props;
    int poff;
    fdt_for_each_property_offset(poff, lf, off) {
      const char* name;
      int plen;
      const void* data = fdt_getprop_by_offset(lf, poff, &name, &plen);
      const auto* d = static_cast<const uint8_t*>(data);
      lib_props.emplace_back(name, Blob(d, d + plen));
      auto p = n->prop(name);
      ASSERT_TRUE(p.has_value()) << name;
      EXPECT_EQ(p->size(), static_cast<size_t>(plen));
      EXPECT_EQ(p->offset(), static_cast<uint32_t>(poff));
    }
    n->for_each_prop([&](const Prop& p) {
      our_props.emplace_back(sv(p.name()), Blob(p.data().begin(), p.data().end()));
    });
    EXPECT_EQ(lib_props, our_props);

    // Children, in order.
    std::vector<int> lib_children, our_children;
    int c;
    fdt_for_each_subnode(c, lf, off) lib_children.push_back(c);
    n->for_each_child([&](Node ch) { our_children.push_back(static_cast<int>(ch.offset())); });
    EXPECT_EQ(lib_children, our_children);

    // Parent.
    const int lib_parent = fdt_parent_offset(lf, off);
    auto parent = n->parent();
    if (lib_parent < 0) {
      EXPECT_FALSE(parent.has_value());
      EXPECT_TRUE(n->is_root());
    } else {
      ASSERT_TRUE(parent.has_value());
      EXPECT_EQ(parent->offset(), static_cast<uint32_t>(lib_parent));
    }

    // Cells (libfdt applies the same spec defaults of 2 and 1, but reports
    // #address-cells = <0>, legal on interrupt controllers, as an error).
    const int lib_ac = fdt_address_cells(lf, off);
    if (lib_ac >= 0) {
      EXPECT_EQ(n->address_cells(), static_cast<uint32_t>(lib_ac));
    } else {
      const auto* raw =
          static_cast<const fdt32_t*>(fdt_getprop(lf, off, "#address-cells", nullptr));
      ASSERT_NE(raw, nullptr);
      EXPECT_EQ(n->address_cells(), fdt32_to_cpu(*raw));
    }
    EXPECT_EQ(n->size_cells(), static_cast<uint32_t>(fdt_size_cells(lf, off)));

    // Compatible matching agrees for every string of the list.
    if (auto compat = n->prop("compatible")) {
      compat->for_each_string([&](std::string_view s) {
        EXPECT_EQ(fdt_node_check_compatible(lf, off, std::string(s).c_str()), 0);
        EXPECT_TRUE(Fdt::is_compatible(*n, s));
      });
      EXPECT_EQ(static_cast<int>(compat->string_count()),
                fdt_stringlist_count(lf, off, "compatible"));
    }
    EXPECT_FALSE(Fdt::is_compatible(*n, "no,such-device"));

    // phandle lookup.
    const uint32_t ph = fdt_get_phandle(lf, off);
    if (ph != 0) {
      EXPECT_EQ(n->phandle(), ph);
      auto byph = f.find_by_phandle(ph);
      ASSERT_TRUE(byph.has_value());
      EXPECT_EQ(static_cast<int>(byph->offset()), fdt_node_offset_by_phandle(lf, ph));
    }

    // reg decoded with the parent's cells, as libfdt's raw cells say.
    if (lib_parent >= 0) {
      const int ac = fdt_address_cells(lf, lib_parent), sc = fdt_size_cells(lf, lib_parent);
      int rlen = 0;
      const auto* raw = static_cast<const fdt32_t*>(fdt_getprop(lf, off, "reg", &rlen));
      if (raw && ac >= 1 && ac <= 2 && sc >= 0 && sc <= 2) {
        const size_t count = static_cast<size_t>(rlen) / 4 / (ac + sc);
        EXPECT_EQ(f.reg_count(*n), count);
        for (size_t i = 0; i < count; ++i) {
          uint64_t a = 0, s = 0;
          for (int j = 0; j < ac; ++j) a = (a << 32) | fdt32_to_cpu(raw[i * (ac + sc) + j]);
          for (int j = 0; j < sc; ++j) s = (s << 32) | fdt32_to_cpu(raw[i * (ac + sc) + ac + j]);
          auto r = f.reg(*n, i);
          ASSERT_TRUE(r.has_value());
          EXPECT_EQ(r->addr, a);
          EXPECT_EQ(r->size, s);
        }
        EXPECT_FALSE(f.reg(*n, count).has_value());
      }
    }
  }

  int our_nodes = 0;
  f.for_each_node([&](Node) { ++our_nodes; });
  EXPECT_EQ(our_nodes, lib_nodes);

  // Memory reservation block.
  const int nrsv = fdt_num_mem_rsv(lf);
  ASSERT_GE(nrsv, 0);
  EXPECT_EQ(f.mem_rsv_count(), static_cast<size_t>(nrsv));
  int i = 0;
  f.for_each_mem_rsv([&](uint64_t addr, uint64_t size) {
    uint64_t a, s;
    ASSERT_EQ(fdt_get_mem_rsv(lf, i++, &a, &s), 0);
    EXPECT_EQ(addr, a);
    EXPECT_EQ(size, s);
  });

  // Aliases resolve like libfdt's.
  if (auto aliases = f.find("/aliases")) {
    aliases->for_each_prop([&](const Prop& p) {
      const std::string name = sv(p.name());
      auto ours = f.find(name);
      const int theirs = fdt_path_offset(lf, name.c_str());
      if (theirs < 0) {
        EXPECT_FALSE(ours.has_value()) << name;
      } else {
        ASSERT_TRUE(ours.has_value()) << name;
        EXPECT_EQ(static_cast<int>(ours->offset()), theirs);
      }
    });
  }
}

TEST_P(FdtVsLibfdt, missing_paths_match_libfdt) {
  const Blob blob = load(GetParam());
  const Fdt f = must_parse(blob);
  for (const char* p :
       {"/nonexistent", "/cpus/cpu@99", "/soc/", "nosuchalias", "/chosen/x/y", "//cpus"}) {
    const int lib = fdt_path_offset(blob.data(), p);
    auto ours = f.find(p);
    EXPECT_EQ(ours.has_value(), lib >= 0) << p;
    if (ours && lib >= 0) {
      EXPECT_EQ(static_cast<int>(ours->offset()), lib) << p;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Blobs, FdtVsLibfdt, ::testing::ValuesIn(all_blobs()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(FdtBlobs, all_expected_blobs_are_present) {
  const auto names = all_blobs();
  for (const char* want :
       {"virt-1hart-512m.dtb", "virt-4hart-6g-numa.dtb", "sifive_u-5hart-1g.dtb", "reserved.dtb"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}

// ---------------------------------------------------------------------------
// QEMU virt, 1 hart, 512 MiB.

struct MemRegion {
  uint64_t base, size;
  int nid;
  bool operator==(const MemRegion&) const = default;
};

std::vector<MemRegion> memory_of(const Fdt& f) {
  std::vector<MemRegion> v;
  k::fdt::for_each_memory_region(f, [&](k::PhysRange r, int nid) {
    v.push_back({r.base.value(), r.size, nid});
  });
  return v;
}

std::vector<k::fdt::HartInfo> harts_of(const Fdt& f) {
  std::vector<k::fdt::HartInfo> v;
  k::fdt::for_each_hart(f, [&](const k::fdt::HartInfo& h) { v.push_back(h); });
  return v;
}

TEST(FdtVirt, one_hart_512m_memory_hart_console_and_timebase) {
  const Blob blob = load("virt-1hart-512m.dtb");
  const Fdt f = must_parse(blob);
  EXPECT_EQ(memory_of(f),
            (std::vector<MemRegion>{{0x80000000, 512ull << 20, k::fdt::kNumaNoNode}}));
  auto harts = harts_of(f);
  ASSERT_EQ(harts.size(), 1u);
  EXPECT_EQ(harts[0].hartid, 0u);
  EXPECT_TRUE(harts[0].okay);
  EXPECT_TRUE(harts[0].has_mmu);
  EXPECT_EQ(harts[0].mmu_levels, 4);  // QEMU 7.2 says riscv,sv48
  EXPECT_EQ(harts[0].isa.substr(0, 4), "rv64");
  EXPECT_EQ(k::fdt::timebase_frequency(f), 10000000u);

  auto out = k::fdt::chosen_stdout(f);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->node.name(), "serial@10000000");
  EXPECT_EQ(out->options, "");
  EXPECT_TRUE(Fdt::is_compatible(out->node, "ns16550a"));
  auto r = f.reg_translated(out->node, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->addr, 0x10000000u);
  EXPECT_EQ(r->size, 0x100u);
  EXPECT_FALSE(k::fdt::chosen_bootargs(f).has_value());
  EXPECT_FALSE(k::fdt::chosen_initrd(f).has_value());

  // Devices of a bus without dma-ranges see all of memory 1:1.
  DmaWindow w[4];
  auto n = f.dma_ranges(out->node, w);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(w[0].cpu_start, 0u);
  EXPECT_EQ(w[0].bus_start, 0u);
  EXPECT_EQ(w[0].size, k::fdt::kWholeSpace);

  int tests = 0;
  f.for_each_compatible("sifive,test0", [&](Node t) {
    ++tests;
    EXPECT_EQ(f.reg_translated(t, 0)->addr, 0x100000u);
  });
  EXPECT_EQ(tests, 1);
  EXPECT_EQ(f.find("/memory")->name(), "memory@80000000");
  EXPECT_EQ(k::fdt::numa_distance(f, 0, 0), 10u);
  EXPECT_EQ(k::fdt::numa_distance(f, 0, 1), 20u);
}

TEST(FdtVirt, numa_two_nodes_memory_harts_and_distances) {
  const Blob blob = load("virt-4hart-6g-numa.dtb");
  const Fdt f = must_parse(blob);
  EXPECT_EQ(memory_of(f),
            (std::vector<MemRegion>{{0x80000000, 3ull << 30, 0}, {0x140000000, 3ull << 30, 1}}));
  auto harts = harts_of(f);
  ASSERT_EQ(harts.size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(harts[i].hartid, i);
    EXPECT_EQ(harts[i].nid, i < 2 ? 0 : 1);
    EXPECT_EQ(harts[i].mmu_levels, 4);
    EXPECT_EQ(harts[i].node.name(), "cpu@" + std::to_string(i));
  }
  EXPECT_EQ(k::fdt::numa_distance(f, 0, 0), 10u);
  EXPECT_EQ(k::fdt::numa_distance(f, 0, 1), 20u);
  EXPECT_EQ(k::fdt::numa_distance(f, 1, 0), 20u);
  EXPECT_EQ(k::fdt::numa_distance(f, 1, 1), 10u);
}

TEST(FdtSifiveU, hart0_has_no_mmu_and_console_is_sifive_uart) {
  const Blob blob = load("sifive_u-5hart-1g.dtb");
  const Fdt f = must_parse(blob);
  auto harts = harts_of(f);
  ASSERT_EQ(harts.size(), 5u);
  EXPECT_EQ(harts[0].hartid, 0u);
  EXPECT_FALSE(harts[0].has_mmu);
  EXPECT_EQ(harts[0].mmu_levels, 0);
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_TRUE(harts[i].has_mmu);
    EXPECT_TRUE(harts[i].okay);
    EXPECT_EQ(harts[i].hartid, i);
  }
  auto con = k::fdt::stdout_node(f);
  ASSERT_TRUE(con.has_value());
  EXPECT_TRUE(Fdt::is_compatible(*con, "sifive,uart0"));
  EXPECT_EQ(f.reg_translated(*con, 0)->addr, 0x10010000u);
  EXPECT_EQ(f.find("serial1")->name(), "serial@10011000");
  EXPECT_EQ(memory_of(f), (std::vector<MemRegion>{{0x80000000, 1ull << 30, k::fdt::kNumaNoNode}}));
  EXPECT_EQ(k::fdt::timebase_frequency(f), 1000000u);
}

// ---------------------------------------------------------------------------
// Hand-written fixture (tests/data/dtb/reserved.dts).

class FdtFixture : public ::testing::Test {
 protected:
  Blob blob = load("reserved.dtb");
  Fdt f = must_parse(blob);
  Node node(const char* path) {
    auto n = f.find(path);
    EXPECT_TRUE(n.has_value()) << path;
    return *n;
  }
};

TEST_F(FdtFixture, chosen_bootargs_initrd_and_aliased_stdout_with_options) {
  EXPECT_EQ(k::fdt::chosen_bootargs(f), "console=ttyS0 quiet mem=512M selftest=fdt");
  auto initrd = k::fdt::chosen_initrd(f);
  ASSERT_TRUE(initrd.has_value());
  EXPECT_EQ(initrd->base.value(), 0x48000000u);
  EXPECT_EQ(initrd->size, 0x100000u);
  auto out = k::fdt::chosen_stdout(f);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->node, node("/soc/bus@20000000/serial@1000"));
  EXPECT_EQ(out->options, "115200n8");
  EXPECT_EQ(f.reg_translated(out->node, 0)->addr, 0x20001000u);
  EXPECT_EQ(f.find("serial0"), out->node);
  EXPECT_EQ(f.find("dev"), node("/soc/bus@20000000/subbus@8000/dev@100"));
}

TEST_F(FdtFixture, memory_regions_skip_zero_sized_and_disabled_nodes) {
  EXPECT_EQ(memory_of(f), (std::vector<MemRegion>{{0x40000000, 0x80000000, 0},
                                                  {0x100000000, 0x40000000, 1},
                                                  {0x1c0000000, 0x40000000, 1}}));
}

TEST_F(FdtFixture, memory_reservation_block) {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  f.for_each_mem_rsv([&](uint64_t a, uint64_t s) { v.emplace_back(a, s); });
  EXPECT_EQ(v, (std::vector<std::pair<uint64_t, uint64_t>>{{0x40000000, 0x80000},
                                                           {0x1f0000000, 0x1000}}));
}

TEST_F(FdtFixture, reserved_regions_static_dynamic_no_map_reusable) {
  std::vector<k::fdt::ReservedRegion> v;
  k::fdt::for_each_reserved_region(f, [&](const k::fdt::ReservedRegion& r) { v.push_back(r); });
  ASSERT_EQ(v.size(), 4u);  // gone@7d000000 is disabled

  EXPECT_EQ(v[0].name, "mmode_resv0@40000000");
  EXPECT_EQ(v[0].range.base.value(), 0x40000000u);
  EXPECT_EQ(v[0].range.size, 0x80000u);
  EXPECT_FALSE(v[0].no_map);
  EXPECT_FALSE(v[0].dynamic);

  EXPECT_EQ(v[1].name, "framebuffer@7f000000");
  EXPECT_TRUE(v[1].no_map);
  EXPECT_EQ(v[1].range.size, 0x800000u);

  EXPECT_EQ(v[2].name, "linux,cma");
  EXPECT_TRUE(v[2].dynamic);
  EXPECT_TRUE(v[2].reusable);
  EXPECT_TRUE(v[2].shared_dma_pool);
  EXPECT_EQ(v[2].size, 0x4000000u);
  EXPECT_EQ(v[2].align, 0x2000000u);
  EXPECT_EQ(v[2].range.size, 0u);
  EXPECT_NE(v[2].phandle, 0u);
  std::vector<std::pair<uint64_t, uint64_t>> ar;
  k::fdt::for_each_alloc_range(f, v[2],
                               [&](k::PhysRange r) { ar.emplace_back(r.base.value(), r.size); });
  EXPECT_EQ(ar, (std::vector<std::pair<uint64_t, uint64_t>>{{0x40000000, 0x40000000},
                                                            {0x100000000, 0x10000000}}));
  // memory-region = <&cma> points at it.
  auto user = node("/soc/test-props");
  EXPECT_EQ(f.find_by_phandle(*user.prop("memory-region")->u32()), v[2].node);

  EXPECT_EQ(v[3].name, "dma-pool@7e000000");
  EXPECT_TRUE(v[3].no_map);
  EXPECT_TRUE(v[3].shared_dma_pool);
  EXPECT_FALSE(v[3].reusable);
  EXPECT_EQ(v[3].range.base.value(), 0x7e000000u);
  EXPECT_EQ(f.find_by_phandle(*user.prop("phandle-user")->u32()), v[3].node);
}

TEST_F(FdtFixture, harts_disabled_no_mmu_sparse_ids_and_numa) {
  auto h = harts_of(f);
  ASSERT_EQ(h.size(), 4u);  // cpu-map is not a cpu
  EXPECT_EQ(h[0].hartid, 0u);
  EXPECT_FALSE(h[0].okay);
  EXPECT_FALSE(h[0].has_mmu);
  EXPECT_EQ(h[0].isa, "rv64imac");
  EXPECT_EQ(h[1].hartid, 1u);
  EXPECT_TRUE(h[1].okay);
  EXPECT_EQ(h[1].mmu_levels, 3);
  EXPECT_EQ(h[1].nid, 0);
  EXPECT_EQ(h[2].hartid, 8u);
  EXPECT_TRUE(h[2].okay);  // no status = okay
  EXPECT_EQ(h[2].mmu_levels, 4);
  EXPECT_EQ(h[2].nid, 1);
  EXPECT_EQ(h[3].hartid, 9u);
  EXPECT_FALSE(h[3].has_mmu);  // riscv,none
  EXPECT_EQ(h[3].nid, k::fdt::kNumaNoNode);
  EXPECT_EQ(k::fdt::timebase_frequency(f), 4000000u);
  EXPECT_EQ(k::fdt::mmu_type_levels("riscv,sv57"), 5);
  EXPECT_EQ(k::fdt::mmu_type_levels("riscv,sv32"), 0);
}

TEST_F(FdtFixture, numa_distance_is_symmetric_when_one_direction_given) {
  EXPECT_EQ(k::fdt::numa_distance(f, 0, 1), 25u);
  EXPECT_EQ(k::fdt::numa_distance(f, 1, 0), 25u);
  EXPECT_EQ(k::fdt::numa_distance(f, 1, 1), 10u);
  EXPECT_EQ(k::fdt::numa_distance(f, 0, 2), 20u);
}

TEST_F(FdtFixture, reg_and_translate_through_nested_ranges) {
  auto dev = node("/soc/bus@20000000/subbus@8000/dev@100");
  EXPECT_EQ(f.reg_count(dev), 2u);
  auto r0 = f.reg(dev, 0);
  ASSERT_TRUE(r0.has_value());
  EXPECT_EQ(r0->addr, 0x100u);
  EXPECT_EQ(r0->size, 0x10u);
  // 0x100 -> subbus ranges (+0x8000) -> bus ranges (+0x20000000) -> soc (identity).
  EXPECT_EQ(f.translate(dev, 0x100), 0x20008100u);
  EXPECT_EQ(f.reg_translated(dev, 1)->addr, 0x20008200u);
  EXPECT_FALSE(f.reg(dev, 2).has_value());
  EXPECT_FALSE(f.translate(dev, 0x1000).has_value());  // past subbus's 4 KiB window
  EXPECT_TRUE(Fdt::status_okay(dev));                  // "ok"

  // Second of two ranges entries.
  EXPECT_EQ(f.reg_translated(node("/soc/bus@30000000/dev@100000"), 0)->addr, 0x31000000u);
  EXPECT_FALSE(f.reg_translated(node("/soc/bus@30000000/dev@20000"), 0).has_value());

  // A bus without ranges: reg decodes, translation does not.
  auto eeprom = node("/soc/i2c@40000000/eeprom@50");
  EXPECT_EQ(f.reg(eeprom, 0)->addr, 0x50u);
  EXPECT_EQ(f.reg(eeprom, 0)->size, 0u);
  EXPECT_FALSE(f.translate(eeprom, 0x50).has_value());

  // Three address cells are not decoded.
  auto pcidev = node("/soc/pci@50000000/dev@0");
  EXPECT_FALSE(f.reg(pcidev, 0).has_value());
  EXPECT_EQ(f.reg_count(pcidev), 0u);

  // The root has no parent bus.
  EXPECT_FALSE(f.reg(f.root(), 0).has_value());
  EXPECT_FALSE(f.translate(f.root(), 0).has_value());
}

TEST_F(FdtFixture, dma_ranges_compose_through_every_bus) {
  DmaWindow w[4];
  // Device on bus@20000000: bus 0.. -> CPU 0x40000000.., 256 MiB.
  auto n = f.dma_ranges(node("/soc/bus@20000000/serial@1000"), w);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(w[0].bus_start, 0u);
  EXPECT_EQ(w[0].cpu_start, 0x40000000u);
  EXPECT_EQ(w[0].size, 0x10000000u);

  // One level deeper: bus 0x80000000 -> parent 0 -> CPU 0x40000000, 128 MiB.
  n = f.dma_ranges(node("/soc/bus@20000000/subbus@8000/dev@100"), w);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(w[0].bus_start, 0x80000000u);
  EXPECT_EQ(w[0].cpu_start, 0x40000000u);
  EXPECT_EQ(w[0].size, 0x8000000u);

  // Two windows.
  n = f.dma_ranges(node("/soc/bus@30000000/dev@100000"), w);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(w[0].bus_start, 0u);
  EXPECT_EQ(w[0].cpu_start, 0x80000000u);
  EXPECT_EQ(w[1].bus_start, 0x10000000u);
  EXPECT_EQ(w[1].cpu_start, 0xc0000000u);
  EXPECT_EQ(w[1].size, 0x1000000u);
  // Not enough room for both windows.
  EXPECT_FALSE(
      f.dma_ranges(node("/soc/bus@30000000/dev@100000"), std::span<DmaWindow>(w, 1)).has_value());
}

TEST_F(FdtFixture, prop_accessors_strings_cells_and_bounds) {
  auto t = node("/soc/test-props");
  auto raw = t.prop("raw-unterminated");
  ASSERT_TRUE(raw.has_value());
  EXPECT_FALSE(raw->str().has_value());
  EXPECT_EQ(raw->string_count(), 0u);
  EXPECT_FALSE(raw->u32().has_value());

  auto e = t.prop("empty-prop");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->empty());
  EXPECT_FALSE(e->str().has_value());
  EXPECT_EQ(e->cells(0, 0), 0u);
  EXPECT_FALSE(e->cells(0, 1).has_value());

  auto sl = t.prop("stringlist");
  std::vector<std::string> strs;
  sl->for_each_string([&](std::string_view s) { strs.push_back(sv(s)); });
  EXPECT_EQ(strs, (std::vector<std::string>{"one", "two", "", "four"}));
  EXPECT_EQ(sl->string_count(), 4u);
  EXPECT_EQ(sl->str(), "one");
  EXPECT_TRUE(sl->has_string("four"));
  EXPECT_FALSE(sl->has_string("fou"));
  EXPECT_FALSE(sl->is_string("one"));

  auto big = t.prop("big");
  EXPECT_EQ(big->u64(), 0x123456789abcdef0u);
  EXPECT_EQ(big->u32(0), 0x12345678u);
  EXPECT_EQ(big->u32(1), 0x9abcdef0u);
  EXPECT_FALSE(big->u32(2).has_value());
  EXPECT_FALSE(big->u64(1).has_value());
  EXPECT_EQ(big->cells(1, 1), 0x9abcdef0u);
  EXPECT_FALSE(big->cells(1, 2).has_value());
  EXPECT_FALSE(big->cells(0, 3).has_value());
  EXPECT_FALSE(big->cells(~size_t{0}, 2).has_value());
  EXPECT_EQ(big->u32_or_u64(), 0x123456789abcdef0u);

  EXPECT_FALSE(t.prop("nope").has_value());
  EXPECT_FALSE(t.prop("").has_value());
  auto root = f.root();
  EXPECT_EQ(root.name(), "");
  EXPECT_TRUE(root.is_root());
  EXPECT_FALSE(root.parent().has_value());
  EXPECT_EQ(f.find("/"), root);
  EXPECT_TRUE(Fdt::is_compatible(root, "test,generic"));
  auto serial = node("/soc/bus@20000000/serial@1000");
  EXPECT_EQ(serial.base_name(), "serial");
  EXPECT_EQ(serial.unit_address(), "1000");
  EXPECT_EQ(root.child("soc")->child("bus")->name(), "bus@20000000");  // first match
  EXPECT_FALSE(root.child("so").has_value());
  EXPECT_FALSE(root.child("memory@4").has_value());
  EXPECT_FALSE(f.find_by_phandle(0).has_value());
  EXPECT_FALSE(f.find_by_phandle(0xffffffff).has_value());
  EXPECT_FALSE(f.find_by_phandle(0x7777).has_value());
  EXPECT_FALSE(f.find("").has_value());
  EXPECT_FALSE(Fdt::status_okay(node("/cpus/cpu@0")));
}

TEST_F(FdtFixture, callbacks_returning_false_stop_iteration) {
  int seen = 0;
  f.for_each_node([&](Node) { return ++seen < 3; });
  EXPECT_EQ(seen, 3);
  seen = 0;
  f.root().for_each_child([&](Node) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
  seen = 0;
  f.for_each_mem_rsv([&](uint64_t, uint64_t) { return ++seen < 1; });
  EXPECT_EQ(seen, 1);
  seen = 0;
  f.for_each_compatible("simple-bus", [&](Node) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
}

// ---------------------------------------------------------------------------
// Rejection of malformed blobs.

void put32(Blob& b, size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>(v >> 24);
  b[off + 1] = static_cast<uint8_t>(v >> 16);
  b[off + 2] = static_cast<uint8_t>(v >> 8);
  b[off + 3] = static_cast<uint8_t>(v);
}
uint32_t get32(const Blob& b, size_t off) {
  return (uint32_t{b[off]} << 24) | (uint32_t{b[off + 1]} << 16) | (uint32_t{b[off + 2]} << 8) |
         b[off + 3];
}

// Header field offsets (spec 5.2).
constexpr size_t kTotal = 4, kOffStruct = 8, kOffStrings = 12, kOffRsv = 16, kVersion = 20,
                 kLastComp = 24, kSizeStrings = 32, kSizeStruct = 36;

std::string reject(const Blob& b, size_t len) {
  ParseError err;
  auto f = Fdt::parse(b.data(), len, &err);
  if (f) return "accepted";
  EXPECT_NE(err.what, nullptr);
  return err.what ? err.what : "";
}
std::string reject(const Blob& b) { return reject(b, b.size()); }

// Builds a blob from raw structure tokens, with a strings block "a\0bb\0".
Blob build(const std::vector<uint32_t>& tokens, std::string strings = std::string("a\0bb\0", 5)) {
  Blob b(40 + 16, 0);
  const uint32_t off_struct = static_cast<uint32_t>(b.size());
  for (uint32_t t : tokens) {
    b.resize(b.size() + 4);
    put32(b, b.size() - 4, t);
  }
  const uint32_t off_strings = static_cast<uint32_t>(b.size());
  b.insert(b.end(), strings.begin(), strings.end());
  put32(b, 0, k::fdt::kMagic);
  put32(b, kTotal, static_cast<uint32_t>(b.size()));
  put32(b, kOffStruct, off_struct);
  put32(b, kOffStrings, off_strings);
  put32(b, kOffRsv, 40);
  put32(b, kVersion, 17);
  put32(b, kLastComp, 16);
  put32(b, kSizeStrings, static_cast<uint32_t>(strings.size()));
  put32(b, kSizeStruct, static_cast<uint32_t>(tokens.size() * 4));
  return b;
}

constexpr uint32_t BEGIN = 1, END_NODE = 2, PROP = 3, NOP = 4, END = 9;

TEST(FdtReject, hand_built_minimal_blob_parses) {
  const Blob b =
      build({NOP, BEGIN, 0, PROP, 4, 0, 0xdeadbeef, BEGIN, 0x61620000, END_NODE, END_NODE, END});
  ASSERT_EQ(fdt_check_full(b.data(), b.size()), 0);
  auto f = Fdt::parse(b.data(), b.size());
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->root_offset(), 4u);  // after the NOP
  EXPECT_EQ(f->root().prop("a")->u32(), 0xdeadbeefu);
  EXPECT_EQ(f->find("/ab")->name(), "ab");
  EXPECT_EQ(f->find("/ab")->parent(), f->root());
}

TEST(FdtReject, truncated_at_every_length) {
  for (const auto& name : all_blobs()) {
    const Blob blob = load(name);
    for (size_t len = 0; len < blob.size(); ++len) {
      // A fresh, exactly sized allocation so ASan sees any overread.
      Blob cut(blob.begin(), blob.begin() + static_cast<long>(len));
      ParseError err;
      ASSERT_FALSE(Fdt::parse(cut.data(), cut.size(), &err).has_value()) << name << " len " << len;
      ASSERT_NE(err.what, nullptr);
    }
  }
  // And a truncated-but-consistent header: totalsize shrunk with the buffer.
  Blob b = load("virt-1hart-512m.dtb");
  put32(b, kTotal, get32(b, kOffStrings) + 8);
  b.resize(get32(b, kTotal));
  EXPECT_EQ(reject(b), "strings block out of range");
}

TEST(FdtReject, header_problems_are_named) {
  const Blob good = load("virt-1hart-512m.dtb");
  Blob b = good;
  b[0] ^= 1;
  EXPECT_EQ(reject(b), "bad magic");
  b = good;
  put32(b, kVersion, 15);
  EXPECT_EQ(reject(b), "unsupported version (< 16)");
  b = good;
  put32(b, kLastComp, 18);
  EXPECT_EQ(reject(b), "unsupported last_comp_version (> 17)");
  b = good;
  put32(b, kTotal, static_cast<uint32_t>(b.size() + 1));
  EXPECT_EQ(reject(b), "totalsize larger than buffer");
  b = good;
  put32(b, kTotal, 39);
  EXPECT_EQ(reject(b), "totalsize smaller than header");
  b = good;
  put32(b, kOffStruct, static_cast<uint32_t>(b.size() + 4));
  EXPECT_EQ(reject(b), "off_dt_struct out of range or misaligned");
  b = good;
  put32(b, kOffStruct, get32(b, kOffStruct) + 2);
  EXPECT_EQ(reject(b), "off_dt_struct out of range or misaligned");
  b = good;
  put32(b, kSizeStruct, 0xfffffff0);
  EXPECT_EQ(reject(b), "size_dt_struct past totalsize");
  b = good;
  put32(b, kOffStrings, 0xffffff00);
  EXPECT_EQ(reject(b), "strings block out of range");
  b = good;
  put32(b, kSizeStrings, get32(b, kSizeStrings) + 1);
  EXPECT_EQ(reject(b), "strings block out of range");
  b = good;
  put32(b, kOffRsv, 44);
  EXPECT_EQ(reject(b), "off_mem_rsvmap out of range or misaligned");
  b = good;
  put32(b, kOffRsv, 0);
  EXPECT_EQ(reject(b), "off_mem_rsvmap out of range or misaligned");
  EXPECT_EQ(reject(b, 3), "truncated header");
  EXPECT_EQ(reject(b, 20), "truncated header");
  EXPECT_FALSE(Fdt::parse(nullptr, 100, nullptr).has_value());
}

TEST(FdtReject, unterminated_reservation_block) {
  // Start the reservation block 8 bytes before the structure block: every
  // 16-byte entry from there on overlaps non-zero tokens, and the blob ends
  // before a (0, 0) entry could.
  Blob b = build({BEGIN, 0, END_NODE, END});
  put32(b, kOffRsv, 48);
  EXPECT_EQ(reject(b), "memory reservation block not terminated");
}

TEST(FdtReject, structure_block_problems_are_named) {
  // Node name without NUL before the end of the structure block.
  EXPECT_EQ(reject(build({BEGIN, 0x61616161})), "unterminated node name");
  // Property length runs past the block.
  EXPECT_EQ(reject(build({BEGIN, 0, PROP, 100, 0, END_NODE, END})),
            "property length past end of structure block");
  EXPECT_EQ(reject(build({BEGIN, 0, PROP, 0xfffffffc, 0, END_NODE, END})),
            "property length past end of structure block");
  // Name offset outside the strings block.
  EXPECT_EQ(reject(build({BEGIN, 0, PROP, 0, 5, END_NODE, END})),
            "property name offset outside strings block");
  EXPECT_EQ(reject(build({BEGIN, 0, PROP, 0, 0xffffffff, END_NODE, END})),
            "property name offset outside strings block");
  // Property name runs off the end of the strings block.
  EXPECT_EQ(reject(build({BEGIN, 0, PROP, 0, 0, END_NODE, END}, std::string("abc"))),
            "unterminated property name");
  // Nesting.
  EXPECT_EQ(reject(build({BEGIN, 0, END})), "FDT_END inside a node (unbalanced nesting)");
  EXPECT_EQ(reject(build({BEGIN, 0, END_NODE, END_NODE, END})),
            "FDT_END_NODE without FDT_BEGIN_NODE");
  EXPECT_EQ(reject(build({BEGIN, 0, END_NODE, BEGIN, 0, END_NODE, END})),
            "more than one root node");
  EXPECT_EQ(reject(build({END})), "no root node");
  EXPECT_EQ(reject(build({BEGIN, 0x2f000000, END_NODE, END})), "root node name not empty");
  EXPECT_EQ(reject(build({PROP, 0, 0, BEGIN, 0, END_NODE, END})), "property outside any node");
  EXPECT_EQ(reject(build({BEGIN, 0, BEGIN, 0x61000000, END_NODE, PROP, 0, 0, END_NODE, END})),
            "property after a subnode");
  EXPECT_EQ(reject(build({BEGIN, 0, PROP, 0})), "truncated property header");
  // Missing FDT_END.
  EXPECT_EQ(reject(build({BEGIN, 0, END_NODE})), "structure block ends without FDT_END");
  EXPECT_EQ(reject(build({BEGIN, 0, END_NODE, NOP})), "structure block ends without FDT_END");
  EXPECT_EQ(reject(build({})), "structure block ends without FDT_END");
  EXPECT_EQ(reject(build({BEGIN, 0, 7, END_NODE, END})), "unknown structure block token");
}

TEST(FdtReject, nesting_limit) {
  auto nested = [](int depth) {
    std::vector<uint32_t> t;
    for (int i = 0; i < depth; ++i) t.insert(t.end(), {BEGIN, i == 0 ? 0u : 0x6e000000u});
    for (int i = 0; i < depth; ++i) t.push_back(END_NODE);
    t.push_back(END);
    return build(t);
  };
  const Blob ok = nested(k::fdt::kMaxDepth);
  auto f = Fdt::parse(ok.data(), ok.size());
  ASSERT_TRUE(f.has_value());
  // The deepest node's parent chain is walkable.
  std::optional<Node> deepest;
  f->for_each_node([&](Node n) { deepest = n; });
  int hops = 0;
  for (auto n = deepest; n && !n->is_root(); n = n->parent()) ++hops;
  EXPECT_EQ(hops, k::fdt::kMaxDepth - 1);
  EXPECT_EQ(reject(nested(k::fdt::kMaxDepth + 1)), "node nesting deeper than the limit");
  EXPECT_EQ(reject(nested(100000)), "node nesting deeper than the limit");
}

TEST(FdtReject, version16_blob_without_size_dt_struct) {
  Blob b = build({BEGIN, 0, END_NODE, END});
  put32(b, kVersion, 16);
  put32(b, kSizeStruct, 0xffffffff);  // not a field in v16: must be ignored
  auto f = Fdt::parse(b.data(), b.size());
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->root().name(), "");
}

TEST(FdtReject, every_single_byte_corruption_is_handled) {
  // Not all corruptions are detectable (a changed property value is still a
  // valid tree); each must parse cleanly or be rejected with a reason, and
  // whatever parses must be walkable without out-of-bounds reads (ASan).
  for (const auto& name : all_blobs()) {
    const Blob good = load(name);
    size_t rejected = 0;
    for (size_t n = 0; n < 2 * good.size(); ++n) {
      const size_t i = n / 2;
      Blob b = good;
      b[i] ^= n % 2 ? 0x01 : 0x80;
      ParseError err;
      auto f = Fdt::parse(b.data(), b.size(), &err);
      if (!f) {
        ++rejected;
        ASSERT_NE(err.what, nullptr);
        continue;
      }
      // Whatever this reader accepts, libfdt's full check accepts too.
      EXPECT_EQ(fdt_check_full(b.data(), b.size()), 0) << name << " byte " << i;
      f->for_each_node([&](Node n) {
        n.for_each_prop([&](const Prop& p) { (void)p.string_count(); });
        (void)f->reg_translated(n, 0);
      });
      (void)k::fdt::chosen_stdout(*f);
    }
    EXPECT_GT(rejected, 0u) << name;
  }
}

}  // namespace
