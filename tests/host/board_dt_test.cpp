// Board DTs on the host (issue 7 item 7): the VisionFive 2 v1.3B DTBs
// (2/4/8 GB, compiled from board/visionfive2/dts) and QEMU's sifive_u blob
// run through the same DT -> memblock -> nodes/zones path the kernel takes,
// plus the hart filter, the console choice and the board-hook registry.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "board/board.h"
#include "board/sifive/errata.h"
#include "board/visionfive2/jh7110.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"
#include "mm/dt_memory.h"
#include "mm_test_arena.h"

namespace {

using k::PhysAddr;
using k::PhysRange;
using mmtest::GiB;
using mmtest::MiB;

constexpr uint64_t kVf2Kernel = 0x40200000;  // booti: DRAM base + text_offset
constexpr uint64_t kVf2Dtb = 0x46000000;     // U-Boot fdt_addr_r
constexpr uint64_t kPfn4G = (uint64_t{4} << 30) >> k::kPageShift;

std::vector<uint8_t> load(const std::string& name) {
  std::ifstream f(std::string(BOARD_DTB_DIR) + "/" + name, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::string vf2_name(int gb) { return "visionfive2-v1.3b-" + std::to_string(gb) + "gb.dtb"; }

// Replaces the first occurrence of `from` in the blob with `to` (same length).
void patch(std::vector<uint8_t>& blob, std::string_view from, std::string_view to) {
  ASSERT_EQ(from.size(), to.size());
  auto it = std::search(blob.begin(), blob.end(), from.begin(), from.end());
  ASSERT_NE(it, blob.end()) << from;
  std::copy(to.begin(), to.end(), it);
}

struct Hart {
  uint64_t id;
  bool okay, mmu;
  int levels;
  bool operator==(const Hart&) const = default;
};

std::vector<Hart> harts(const k::fdt::Fdt& fdt) {
  std::vector<Hart> v;
  k::fdt::for_each_hart(fdt, [&](const k::fdt::HartInfo& h) {
    v.push_back({h.hartid, h.okay, h.has_mmu, h.mmu_levels});
  });
  return v;
}

// The rule arch/riscv/kernel/smp.cpp applies before starting a hart.
std::vector<uint64_t> bootable_harts(const k::fdt::Fdt& fdt) {
  std::vector<uint64_t> v;
  k::fdt::for_each_hart(fdt, [&](const k::fdt::HartInfo& h) {
    if (h.okay && h.has_mmu) v.push_back(h.hartid);
  });
  return v;
}

// ---- the DTS itself ---------------------------------------------------------

class Vf2 : public ::testing::TestWithParam<int> {};

TEST_P(Vf2, hart0_s7_is_skipped_and_u74_harts_are_sv39_only) {
  auto blob = load(vf2_name(GetParam()));
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  using V = std::vector<Hart>;
  EXPECT_EQ(harts(*fdt), (V{{0, false, false, 0},
                            {1, true, true, 3},
                            {2, true, true, 3},
                            {3, true, true, 3},
                            {4, true, true, 3}}));
  EXPECT_EQ(bootable_harts(*fdt), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(k::fdt::timebase_frequency(*fdt), 4000000u);
  // No Svpbmt or Zicbom on any hart: the coherent-DMA fallback is needed.
  k::fdt::for_each_hart(*fdt, [&](const k::fdt::HartInfo& h) {
    EXPECT_EQ(h.isa.find("svpbmt"), std::string_view::npos);
    EXPECT_EQ(h.isa.find("zicbom"), std::string_view::npos);
  });
}

TEST_P(Vf2, console_is_the_dw_apb_uart_at_0x10000000) {
  auto blob = load(vf2_name(GetParam()));
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  auto out = k::fdt::chosen_stdout(*fdt);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->node.name(), "serial@10000000");
  EXPECT_EQ(out->options, "115200n8");
  EXPECT_TRUE(k::fdt::Fdt::is_compatible(out->node, "snps,dw-apb-uart"));
  EXPECT_TRUE(k::fdt::Fdt::status_okay(out->node));
  auto reg = fdt->reg_translated(out->node, 0);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->addr, 0x10000000u);
  EXPECT_EQ(out->node.prop("reg-shift")->u32(), 2u);
  EXPECT_EQ(out->node.prop("reg-io-width")->u32(), 4u);
  EXPECT_EQ(out->node.prop("clock-frequency")->u32(), 24000000u);
  EXPECT_EQ(out->node.prop("interrupts")->u32(), 32u);
}

TEST_P(Vf2, l2_cache_controller_is_where_the_flush64_hook_expects_it) {
  auto blob = load(vf2_name(GetParam()));
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  int found = 0;
  fdt->for_each_compatible("sifive,ccache0", [&](k::fdt::Node n) {
    ++found;
    auto r = fdt->reg_translated(n, 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->addr, k::jh7110::kCcacheBase);
    EXPECT_GT(r->size, k::jh7110::kCcacheFlush64 + 8);
    EXPECT_EQ(n.prop("cache-block-size")->u32(), k::jh7110::kCacheLine);
  });
  EXPECT_EQ(found, 1);
}

TEST_P(Vf2, memory_firmware_and_coherent_pool_from_the_dt) {
  const int gb = GetParam();
  auto blob = load(vf2_name(gb));
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  auto info = std::make_unique<k::BootMemInfo>();
  ASSERT_TRUE(k::dt_memory_from_fdt(*fdt, PhysRange{PhysAddr(kVf2Dtb), blob.size()},
                                    PhysRange{PhysAddr(kVf2Kernel), 2 * MiB}, info.get())
                  .ok());
  ASSERT_EQ(info->nr_memory, 1u);
  EXPECT_EQ(info->memory[0].range.base.value(), k::jh7110::kDramBase);
  EXPECT_EQ(info->memory[0].range.size, uint64_t(gb) * GiB);
  EXPECT_EQ(info->dma_zone_limit, 0u);  // no dma-ranges: no ZONE_DMA
  // dt_memory's own hart list applies the same filter as SMP bring-up.
  std::set<uint64_t> listed;
  for (size_t i = 0; i < info->nr_harts; ++i) listed.insert(info->harts[i].hartid);
  EXPECT_EQ(listed, (std::set<uint64_t>{1, 2, 3, 4}));
  bool fw = false, pool = false;
  for (size_t i = 0; i < info->nr_reserved; ++i) {
    const k::BootReservedRegion& r = info->reserved[i];
    if (std::string_view(r.name) == "mmode_resv0@40000000") {
      fw = true;
      EXPECT_EQ(r.range.base.value(), 0x40000000u);
      EXPECT_EQ(r.range.size, 0x80000u);
      EXPECT_TRUE(r.flags & k::kResvFirmware);
    }
    if (std::string_view(r.name) == "dma-pool") {
      pool = true;
      EXPECT_EQ(r.flags, k::kResvDynamic | k::kResvNoMap | k::kResvSharedDmaPool);
      EXPECT_EQ(r.dyn_size, 32 * MiB);
      EXPECT_EQ(r.range.base.value(), 0x40000000u);
      EXPECT_EQ(r.range.size, 2 * GiB);
    }
  }
  EXPECT_TRUE(fw);
  EXPECT_TRUE(pool);
}

// The whole boot-time chain on a fake arena covering the board's RAM
// (MAP_NORESERVE: only touched pages cost memory, so 8 GiB is fine).
TEST_P(Vf2, boots_to_dma32_and_normal_zones_at_the_4g_boundary) {
  const int gb = GetParam();
  const uint64_t dram_end = k::jh7110::kDramBase + uint64_t(gb) * GiB;
  mmtest::Machine m(k::jh7110::kDramBase, dram_end, 4);
  ASSERT_TRUE(m.arena().ok());
  auto blob = load(vf2_name(gb));
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  ASSERT_TRUE(k::dt_memory_from_fdt(*fdt, PhysRange{PhysAddr(kVf2Dtb), blob.size()},
                                    PhysRange{PhysAddr(kVf2Kernel), 2 * MiB}, &m.info())
                  .ok());
  ASSERT_TRUE(m.boot());
  EXPECT_EQ(k::nr_online_nodes(), 1);
  EXPECT_EQ(k::g_zone_limits.dma_end_pfn, 0u);
  EXPECT_EQ(k::g_zone_limits.dma32_end_pfn, kPfn4G);

  const k::PgData* pg = k::NODE_DATA(0);
  EXPECT_FALSE(pg->node_zones[k::ZONE_DMA].populated());
  const k::Zone& d32 = pg->node_zones[k::ZONE_DMA32];
  const k::Zone& normal = pg->node_zones[k::ZONE_NORMAL];
  const uint64_t start_pfn = k::jh7110::kDramBase >> k::kPageShift;
  const uint64_t end_pfn = dram_end >> k::kPageShift;
  EXPECT_EQ(d32.zone_start_pfn, start_pfn);
  EXPECT_EQ(d32.zone_end_pfn(), std::min(end_pfn, kPfn4G));
  EXPECT_EQ(d32.present_pages, std::min(end_pfn, kPfn4G) - start_pfn);
  if (end_pfn > kPfn4G) {
    EXPECT_EQ(normal.zone_start_pfn, kPfn4G);
    EXPECT_EQ(normal.zone_end_pfn(), end_pfn);
    EXPECT_EQ(normal.present_pages, end_pfn - kPfn4G);
  } else {
    EXPECT_FALSE(normal.populated());
  }
  EXPECT_EQ(pg->node_present_pages, end_pfn - start_pfn);

  // OpenSBI's memory is neither mapped nor allocatable.
  const k::Page* fw = k::phys_to_page(PhysAddr(0x40000000));
  EXPECT_TRUE(fw->reserved());
  EXPECT_TRUE(fw->test(k::PageFlag::kNoMap));
  EXPECT_TRUE(k::phys_to_page(PhysAddr(kVf2Kernel))->reserved());
  EXPECT_TRUE(k::phys_to_page(PhysAddr(kVf2Dtb))->reserved());
  // The coherent pool was placed below DRAM + 2 GiB, out of the linear map.
  const k::ReservedMem* pool = nullptr;
  for (size_t i = 0; i < k::reserved_mem_count(); ++i)
    if (std::string_view(k::reserved_mem(i)->name) == "dma-pool") pool = k::reserved_mem(i);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->range.size, 32 * MiB);
  EXPECT_EQ(pool->range.base.value() % (2 * MiB), 0u);
  EXPECT_GE(pool->range.base.value(), 0x40000000u);
  EXPECT_LE(pool->range.end().value(), 0xC0000000u);
  EXPECT_FALSE(pool->range.overlaps(PhysRange{PhysAddr(kVf2Kernel), 2 * MiB}));
  EXPECT_FALSE(pool->range.overlaps(PhysRange{PhysAddr(kVf2Dtb), blob.size()}));
  EXPECT_TRUE(k::phys_to_page(pool->range.base)->test(k::PageFlag::kNoMap));

  // Allocations land in the zone their GFP asks for, and come back.
  const int64_t free_before = static_cast<int64_t>(k::nr_free_pages());
  k::Page* low = k::alloc_pages(k::GFP_DMA32, 4);
  ASSERT_NE(low, nullptr);
  EXPECT_LT(k::page_to_phys(low).value(), uint64_t{4} << 30);
  k::Page* any = k::alloc_pages(k::GFP_KERNEL, 4);
  ASSERT_NE(any, nullptr);
  if (end_pfn > kPfn4G) {
    EXPECT_GE(k::page_to_phys(any).value(), uint64_t{4} << 30);
  }
  k::__free_pages(low, 4);
  k::__free_pages(any, 4);
  EXPECT_EQ(static_cast<int64_t>(k::nr_free_pages()), free_before);
}

INSTANTIATE_TEST_SUITE_P(Sizes, Vf2, ::testing::Values(2, 4, 8),
                         [](const auto& info) { return std::to_string(info.param) + "gb"; });

TEST(BoardDt, a_hart_without_mmu_stays_out_even_when_okay) {
  auto blob = load(vf2_name(4));
  // Rename the "status" property in the strings block: every node loses
  // its status, which reads as okay (DT spec 2.3.4), so the missing
  // mmu-type alone must keep the S7 out.
  patch(blob, std::string_view("status\0", 7), std::string_view("xtatus\0", 7));
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  EXPECT_TRUE(harts(*fdt)[0].okay);
  EXPECT_EQ(bootable_harts(*fdt), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(BoardDt, qemu_sifive_u_e51_is_skipped_and_the_sifive_uart_is_the_console) {
  auto blob = load("sifive_u-5hart-1g.dtb");
  auto fdt = k::fdt::Fdt::parse(blob.data(), blob.size());
  ASSERT_TRUE(fdt);
  // QEMU marks the E51 okay; it has no mmu-type.
  EXPECT_EQ(harts(*fdt)[0], (Hart{0, true, false, 0}));
  EXPECT_EQ(bootable_harts(*fdt), (std::vector<uint64_t>{1, 2, 3, 4}));
  auto out = k::fdt::chosen_stdout(*fdt);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->node.name(), "serial@10010000");
  EXPECT_TRUE(k::fdt::Fdt::is_compatible(out->node, "sifive,uart0"));

  mmtest::Machine m(0x80000000, 0xC0000000, 4);
  ASSERT_TRUE(k::dt_memory_from_fdt(*fdt, PhysRange{PhysAddr(0xBFE00000), blob.size()},
                                    PhysRange{PhysAddr(0x80200000), 2 * MiB}, &m.info())
                  .ok());
  ASSERT_TRUE(m.boot());
  const k::PgData* pg = k::NODE_DATA(0);
  EXPECT_EQ(pg->node_zones[k::ZONE_DMA32].zone_start_pfn, 0x80000u);
  EXPECT_EQ(pg->node_zones[k::ZONE_DMA32].present_pages, 1 * GiB / k::kPageSize);
  EXPECT_FALSE(pg->node_zones[k::ZONE_NORMAL].populated());
}

// ---- board hooks ------------------------------------------------------------

// Descriptors registered through the real macro and section; their lists
// are the ones the kernel's board files use.
int g_early_calls;
std::vector<std::pair<char, uint64_t>> g_cache_calls;
void early(const k::fdt::Fdt&) { ++g_early_calls; }
void clean(PhysAddr pa, size_t) { g_cache_calls.push_back({'c', pa.value()}); }
void inval(PhysAddr pa, size_t) { g_cache_calls.push_back({'i', pa.value()}); }
void flush(PhysAddr pa, size_t) { g_cache_calls.push_back({'f', pa.value()}); }
constexpr const char* kSocOnly[] = {"starfive,jh7110", nullptr};
constexpr const char* kFu540[] = {"sifive,hifive-unleashed-a00", "sifive,fu540", nullptr};

}  // namespace

// Registered before the board-specific one so that the match must come
// from specificity, not order.
DECLARE_BOARD(test_soc, .name = "any JH7110", .compatible = kSocOnly);
DECLARE_BOARD(test_vf2, .name = "VisionFive 2", .compatible = k::jh7110::kCompatible,
              .early_quirks = early, .cache_clean_range = clean, .cache_invalidate_range = inval,
              .cache_flush_range = flush);
DECLARE_BOARD(test_fu540, .name = "FU540", .compatible = kFu540);

namespace {

TEST(BoardHooks, registry_holds_every_declared_board) {
  std::set<std::string> names;
  for (const k::Board& b : k::board_registry()) names.insert(b.name);
  EXPECT_EQ(names, (std::set<std::string>{"any JH7110", "VisionFive 2", "FU540"}));
}

TEST(BoardHooks, most_specific_root_compatible_wins) {
  auto vf2 = load(vf2_name(8));
  auto fdt = k::fdt::Fdt::parse(vf2.data(), vf2.size());
  ASSERT_TRUE(fdt);
  std::string_view matched;
  const k::Board* b = k::board_match(*fdt, k::board_registry(), &matched);
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(b->name, "VisionFive 2");
  EXPECT_EQ(matched, "starfive,visionfive-2-v1.3b");

  // A JH7110 board nobody lists by name falls back to the SoC entry.
  patch(vf2, "starfive,visionfive-2-v1.3b", "starfive,some-other-board-x");
  fdt = k::fdt::Fdt::parse(vf2.data(), vf2.size());
  ASSERT_TRUE(fdt);
  b = k::board_match(*fdt, k::board_registry(), &matched);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(matched, "starfive,jh7110");
  // Both test boards name the SoC: either may win the tie.
  EXPECT_TRUE(std::string_view(b->name) == "any JH7110" ||
              std::string_view(b->name) == "VisionFive 2");

  auto su = load("sifive_u-5hart-1g.dtb");
  auto sf = k::fdt::Fdt::parse(su.data(), su.size());
  ASSERT_TRUE(sf);
  b = k::board_match(*sf, k::board_registry());
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(b->name, "FU540");

  auto virt = load("virt-1hart-512m.dtb");
  auto vf = k::fdt::Fdt::parse(virt.data(), virt.size());
  ASSERT_TRUE(vf);
  EXPECT_EQ(k::board_match(*vf, k::board_registry()), nullptr);
}

TEST(BoardHooks, early_quirks_run_once_and_cache_ops_dispatch_to_the_board) {
  k::board_reset_for_test();
  g_early_calls = 0;
  g_cache_calls.clear();
  // Before any board: the DMA entry points are no-ops.
  EXPECT_FALSE(k::board_has_cache_ops());
  k::board_cache_flush_range(PhysAddr(0x1000), 64);
  EXPECT_TRUE(g_cache_calls.empty());

  auto vf2 = load(vf2_name(2));
  auto fdt = k::fdt::Fdt::parse(vf2.data(), vf2.size());
  ASSERT_TRUE(fdt);
  const k::Board* b = k::board_early_quirks(*fdt);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(k::current_board(), b);
  EXPECT_EQ(g_early_calls, 1);
  EXPECT_NE(host::log_text().find("board: VisionFive 2 (matched \"starfive,visionfive-2-v1.3b\")"),
            std::string::npos);
  EXPECT_TRUE(k::board_has_cache_ops());
  k::board_cache_clean_range(PhysAddr(0x40001000), 64);
  k::board_cache_invalidate_range(PhysAddr(0x40002000), 64);
  k::board_cache_flush_range(PhysAddr(0x40003000), 64);
  k::board_cache_flush_range(PhysAddr(0x40004000), 0);  // empty: not passed on
  using V = std::vector<std::pair<char, uint64_t>>;
  EXPECT_EQ(g_cache_calls, (V{{'c', 0x40001000}, {'i', 0x40002000}, {'f', 0x40003000}}));

  // QEMU virt: no board, nothing runs.
  auto virt = load("virt-1hart-512m.dtb");
  auto vf = k::fdt::Fdt::parse(virt.data(), virt.size());
  ASSERT_TRUE(vf);
  EXPECT_EQ(k::board_early_quirks(*vf), nullptr);
  EXPECT_EQ(k::current_board(), nullptr);
  EXPECT_FALSE(k::board_has_cache_ops());
  EXPECT_EQ(g_early_calls, 1);
  k::board_reset_for_test();
}

TEST(BoardHooks, flush64_visits_every_64_byte_line_of_a_range) {
  std::vector<uint64_t> lines;
  auto rec = [&](uint64_t l) { lines.push_back(l); };
  EXPECT_EQ(k::jh7110::for_each_cache_line(0x40000000, 0, rec), 0u);
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(k::jh7110::for_each_cache_line(0x40000010, 1, rec), 1u);
  EXPECT_EQ(lines, (std::vector<uint64_t>{0x40000000}));
  lines.clear();
  // 0x3f..0x41 straddles a line boundary: two lines.
  EXPECT_EQ(k::jh7110::for_each_cache_line(0x4000003f, 2, rec), 2u);
  EXPECT_EQ(lines, (std::vector<uint64_t>{0x40000000, 0x40000040}));
  lines.clear();
  EXPECT_EQ(k::jh7110::for_each_cache_line(0x40000000, 4096, rec), 64u);
  EXPECT_EQ(lines.front(), 0x40000000u);
  EXPECT_EQ(lines.back(), 0x40000fc0u);
  lines.clear();
  // A range running past 2^64 stops at the last line instead of wrapping.
  EXPECT_EQ(k::jh7110::for_each_cache_line(~uint64_t{0} - 100, 1000, rec), 2u);
  EXPECT_EQ(lines.back(), ~uint64_t{0} & ~uint64_t{63});
}

TEST(BoardHooks, sifive_cip1200_rule_matches_linux_errata_list) {
  using k::sifive::cip1200_affected;
  constexpr uint64_t kU7 = k::sifive::kMarchidU7Series;
  EXPECT_TRUE(cip1200_affected(kU7, 0x20181004));  // FU540 (HiFive Unleashed)
  EXPECT_TRUE(cip1200_affected(kU7, 0x00200630));  // last affected revision
  EXPECT_FALSE(cip1200_affected(kU7, 0x00200631));
  EXPECT_FALSE(cip1200_affected(kU7, 0x01200626));  // the fixed exception
  EXPECT_FALSE(cip1200_affected(kU7, 0x04210427));  // JH7110 U74 as boards report it
  EXPECT_TRUE(cip1200_affected(k::sifive::kMarchidLegacy, 0x20181004));
  EXPECT_FALSE(cip1200_affected(0, 0));  // QEMU's sifive_u
}

}  // namespace
