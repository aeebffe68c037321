// dt_memory: BootMemInfo from real and hand-written devicetree blobs, and
// a whole boot DT -> memblock -> page allocator.
#include <algorithm>
#include <fstream>
#include <iterator>

#include "lib/fdt.h"
#include "mm/dt_memory.h"
#include "mm_test_arena.h"

namespace {

using k::PhysAddr;
using k::PhysRange;
using mmtest::GiB;
using mmtest::MiB;

std::vector<uint8_t> load(const char* name) {
  std::ifstream f(std::string(MM_DTB_DIR) + "/" + name, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

struct Parsed {
  std::vector<uint8_t> blob;
  std::unique_ptr<k::BootMemInfo> info = std::make_unique<k::BootMemInfo>();
  bool ok = false;
};

Parsed parse(const char* name, PhysRange kernel, uint64_t dtb_pa = 0x82200000,
             std::string_view patch_from = {}, std::string_view patch_to = {}) {
  Parsed p;
  p.blob = load(name);
  if (!patch_from.empty()) {
    auto it = std::search(p.blob.begin(), p.blob.end(), patch_from.begin(), patch_from.end());
    EXPECT_NE(it, p.blob.end());
    if (it != p.blob.end()) std::copy(patch_to.begin(), patch_to.end(), it);
  }
  EXPECT_FALSE(p.blob.empty()) << name;
  auto fdt = k::fdt::Fdt::parse(p.blob.data(), p.blob.size());
  EXPECT_TRUE(fdt.has_value());
  if (!fdt) return p;
  p.ok =
      k::dt_memory_from_fdt(*fdt, PhysRange{PhysAddr(dtb_pa), p.blob.size()}, kernel, p.info.get())
          .ok();
  return p;
}

const k::BootReservedRegion* find_resv(const k::BootMemInfo& info, std::string_view name) {
  for (size_t i = 0; i < info.nr_reserved; ++i)
    if (std::string_view(info.reserved[i].name) == name) return &info.reserved[i];
  return nullptr;
}

TEST(MmDtMemory, fixture_with_reserved_memory_dma_ranges_numa_and_bootargs) {
  auto p = parse("reserved.dtb", PhysRange{PhysAddr(0x40200000), 8 * MiB});
  ASSERT_TRUE(p.ok);
  const k::BootMemInfo& info = *p.info;
  ASSERT_EQ(info.nr_memory, 3u);
  EXPECT_EQ(info.memory[0].range.base.value(), 0x40000000u);
  EXPECT_EQ(info.memory[0].range.size, 2 * GiB);
  EXPECT_EQ(info.memory[0].nid, 0);
  EXPECT_EQ(info.memory[1].range.base.value(), 0x100000000u);
  EXPECT_EQ(info.memory[2].range.base.value(), 0x1c0000000u);
  EXPECT_EQ(info.memory[2].nid, 1);

  const auto* fw = find_resv(info, "mmode_resv0@40000000");
  ASSERT_NE(fw, nullptr);
  EXPECT_EQ(fw->flags, k::kResvFirmware);  // no no-map in the DT, firmware anyway
  const auto* fb = find_resv(info, "framebuffer@7f000000");
  ASSERT_NE(fb, nullptr);
  EXPECT_EQ(fb->flags, k::kResvNoMap);
  const auto* pool = find_resv(info, "dma-pool@7e000000");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->flags, k::kResvNoMap | k::kResvSharedDmaPool);
  EXPECT_NE(pool->phandle, 0u);
  const auto* cma = find_resv(info, "linux,cma");
  ASSERT_NE(cma, nullptr);
  EXPECT_EQ(cma->flags, k::kResvDynamic | k::kResvReusable | k::kResvSharedDmaPool);
  EXPECT_EQ(cma->dyn_size, 64 * MiB);
  EXPECT_EQ(cma->dyn_align, 32 * MiB);
  EXPECT_EQ(cma->range.base.value(), 0x40000000u);
  EXPECT_EQ(cma->range.size, 1 * GiB);
  EXPECT_EQ(find_resv(info, "gone@7d000000"), nullptr);
  EXPECT_NE(find_resv(info, "memreserve"), nullptr);

  EXPECT_EQ(info.initrd.base.value(), 0x48000000u);
  EXPECT_EQ(info.initrd.size, 0x100000u);
  EXPECT_EQ(info.mem_limit, 512 * MiB);
  // subbus@8000 reaches CPU 0x40000000 for 128 MiB: the tightest limit.
  EXPECT_EQ(info.dma_zone_limit, 0x48000000u);
  EXPECT_EQ(info.node_distance(0, 1), 25);
  EXPECT_EQ(info.node_distance(1, 0), 25);
  EXPECT_EQ(info.node_distance(1, 1), 10);
  // Harts: cpu@1 (node 0) and cpu@8 (node 1); the disabled and MMU-less
  // ones are not listed.
  ASSERT_EQ(info.nr_harts, 2u);
  EXPECT_EQ(info.hart_node(1), 0);
  EXPECT_EQ(info.hart_node(8), 1);
  EXPECT_EQ(info.hart_node(9), k::NUMA_NO_NODE);
}

TEST(MmDtMemory, qemu_virt_numa_blob_gives_two_nodes) {
  auto p = parse("virt-4hart-6g-numa.dtb", PhysRange{PhysAddr(0x80200000), 8 * MiB});
  ASSERT_TRUE(p.ok);
  const k::BootMemInfo& info = *p.info;
  ASSERT_EQ(info.nr_memory, 2u);
  EXPECT_EQ(info.memory[0].range.base.value(), 0x80000000u);
  EXPECT_EQ(info.memory[0].range.size, 3 * GiB);
  EXPECT_EQ(info.memory[1].nid, 1);
  EXPECT_EQ(info.node_distance(0, 1), 20);
  EXPECT_EQ(info.nr_harts, 4u);
  EXPECT_EQ(info.hart_node(3), 1);
  EXPECT_EQ(info.dma_zone_limit, 0u);  // QEMU virt: no restrictive dma-ranges
}

TEST(MmDtMemory, zone_dma_bits_overrides_dma_ranges) {
  // Same length as the text it replaces in /chosen/bootargs.
  auto p = parse("reserved.dtb", PhysRange{PhysAddr(0x40200000), 8 * MiB}, 0x46000000,
                 "console=ttyS0 quiet", "zone_dma_bits=31   ");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.info->dma_zone_limit, 0x80000000u);
  EXPECT_EQ(p.info->mem_limit, 512 * MiB);
  // zone_dma_bits=32 or more: no ZONE_DMA.
  auto q = parse("reserved.dtb", PhysRange{PhysAddr(0x40200000), 8 * MiB}, 0x46000000,
                 "console=ttyS0 quiet", "zone_dma_bits=32   ");
  EXPECT_EQ(q.info->dma_zone_limit, 0u);
  // Garbage is reported and ignored (the dma-ranges limit stays).
  host::log_clear();
  auto r = parse("reserved.dtb", PhysRange{PhysAddr(0x40200000), 8 * MiB}, 0x46000000,
                 "console=ttyS0 quiet", "zone_dma_bits=xx   ");
  EXPECT_EQ(r.info->dma_zone_limit, 0x48000000u);
  EXPECT_NE(host::log_text().find("zone_dma_bits=xx"), std::string::npos);
  auto blob = load("reserved.dtb");
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  EXPECT_EQ(k::dt_dma_limit(*fdt), 0x48000000u);
  auto virt = load("virt-1hart-512m.dtb");
  auto vf = k::fdt::Fdt::parse(virt.data(), virt.size());
  ASSERT_TRUE(vf);
  EXPECT_EQ(k::dt_dma_limit(*vf), 0u);
}

TEST(MmDtMemory, qemu_virt_512m_boots_to_a_working_allocator) {
  mmtest::Machine m(0x80000000, 0xA0000000);
  auto p = parse("virt-1hart-512m.dtb", PhysRange{PhysAddr(0x80200000), 6 * MiB});
  ASSERT_TRUE(p.ok);
  // What OpenSBI 1.1 adds at runtime.
  p.info->add_reserved(PhysRange{PhysAddr(0x80000000), 0x80000}, k::kResvFirmware,
                       "mmode_resv0@80000000");
  m.info() = *p.info;
  ASSERT_TRUE(m.boot());
  const k::Zone& z = k::NODE_DATA(0)->node_zones[k::ZONE_DMA32];
  EXPECT_EQ(z.present_pages, 512 * MiB / k::kPageSize);
  // All but firmware, kernel, DTB and the 8 MiB of struct pages.
  EXPECT_GT(k::nr_free_pages(), 490 * MiB / k::kPageSize);
  EXPECT_TRUE(k::phys_to_page(PhysAddr(0x80000000))->test(k::PageFlag::kNoMap));
  EXPECT_TRUE(k::phys_to_page(PhysAddr(0x82200000))->reserved());  // the DTB
  k::Page* pg = k::alloc_pages(k::GFP_KERNEL, 5);
  ASSERT_NE(pg, nullptr);
  k::__free_pages(pg, 5);
}

TEST(MmDtMemory, fixture_boots_with_mem_limit_dma_zone_and_firmware_region) {
  // RAM 0x40000000.. (node 0, 2 GiB) and node 1 above 4 GiB; mem=512M
  // keeps only the first 512 MiB, so one node remains.
  mmtest::Machine m(0x40000000, 0x40000000 + 2 * GiB);
  auto p = parse("reserved.dtb", PhysRange{PhysAddr(0x40200000), 8 * MiB}, 0x46000000);
  ASSERT_TRUE(p.ok);
  m.info() = *p.info;
  ASSERT_TRUE(m.boot());
  EXPECT_EQ(k::nr_online_nodes(), 1);
  EXPECT_EQ(k::memblock.phys_mem_size(), 512 * MiB);
  const k::Zone& dma = k::NODE_DATA(0)->node_zones[k::ZONE_DMA];
  EXPECT_EQ(dma.present_pages, 128 * MiB / k::kPageSize);
  const k::Zone& d32 = k::NODE_DATA(0)->node_zones[k::ZONE_DMA32];
  EXPECT_EQ(d32.present_pages, 384 * MiB / k::kPageSize);
  // Firmware: never handed out, not mapped.
  k::Page* fw = k::phys_to_page(PhysAddr(0x40000000));
  EXPECT_TRUE(fw->reserved());
  EXPECT_TRUE(fw->test(k::PageFlag::kNoMap));
  // The CMA region was placed in its window.
  bool cma_found = false;
  for (size_t i = 0; i < k::reserved_mem_count(); ++i) {
    const k::ReservedMem* r = k::reserved_mem(i);
    if (std::string_view(r->name) != "linux,cma") continue;
    cma_found = true;
    EXPECT_EQ(r->range.size, 64 * MiB);
    EXPECT_EQ(r->range.base.value() % (32 * MiB), 0u);
    EXPECT_GE(r->range.base.value(), 0x40000000u);
    EXPECT_LE(r->range.end().value(), 0x60000000u);  // inside mem=512M
  }
  EXPECT_TRUE(cma_found);
  // GFP_DMA stays under the dma-ranges limit.
  k::Page* d = k::alloc_pages(k::GFP_DMA, 3);
  ASSERT_NE(d, nullptr);
  EXPECT_LT(k::page_to_phys(d).value() + 8 * k::kPageSize, 0x48000000u + 1);
  k::__free_pages(d, 3);
}

}  // namespace
