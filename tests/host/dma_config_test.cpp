// Device DMA configuration from the DT (drivers/base/dma_config.h): windows
// composed through nested buses, bus limits, masks, coherence and
// interrupt specifiers, on the dtc-compiled fixture dma_nested.dts.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "drivers/base/dma_config.h"
#include "lib/fdt.h"

namespace {

using k::DmaConfig;

class DmaConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream f(DMA_FIXTURE_DTB, std::ios::binary);
    blob_.assign(std::istreambuf_iterator<char>(f), {});
    ASSERT_FALSE(blob_.empty()) << DMA_FIXTURE_DTB;
    auto fdt = k::fdt::Fdt::parse(blob_.data(), blob_.size());
    ASSERT_TRUE(fdt.has_value());
    fdt_.emplace(*fdt);
  }
  k::fdt::Node node(const char* path) {
    auto n = fdt_->find(path);
    EXPECT_TRUE(n.has_value()) << path;
    return *n;
  }
  k::Result<DmaConfig> config(const char* path, bool dflt = true) {
    return k::dma_config_from_node(*fdt_, node(path), dflt);
  }

  std::vector<uint8_t> blob_;
  std::optional<k::fdt::Fdt> fdt_;
};

TEST_F(DmaConfigTest, device_without_dma_ranges_sees_all_memory_identity) {
  auto c = config("/plain@1000");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->restricted);
  EXPECT_EQ(c->bus_limit, ~uint64_t{0});
  EXPECT_EQ(c->phys_to_bus(0x123456789000, 4096, ~uint64_t{0}), 0x123456789000u);
  // Still limited by the device's own mask.
  EXPECT_FALSE(c->phys_to_bus(0x100000000, 4096, k::dma_bit_mask(32)).has_value());
  EXPECT_EQ(c->phys_to_bus(0xfffff000, 4096, k::dma_bit_mask(32)), 0xfffff000u);
  EXPECT_FALSE(c->phys_to_bus(0xfffff001, 4096, k::dma_bit_mask(32)).has_value());
  EXPECT_EQ(c->cpu_limit(k::dma_bit_mask(32)), 0x100000000u);
}

TEST_F(DmaConfigTest, one_level_window_limits_the_device) {
  auto c = config("/soc/dev@10000000");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->restricted);
  ASSERT_EQ(c->nr_windows, 1u);
  EXPECT_EQ(c->bus_limit, 0xbfffffffu);
  EXPECT_EQ(c->phys_to_bus(0x80000000, 0x1000, ~uint64_t{0}), 0x80000000u);
  EXPECT_EQ(c->phys_to_bus(0xbffff000, 0x1000, ~uint64_t{0}), 0xbffff000u);
  EXPECT_FALSE(c->phys_to_bus(0xbffff000, 0x1001, ~uint64_t{0}).has_value());  // runs past the end
  EXPECT_FALSE(c->phys_to_bus(0x7ffff000, 0x1000, ~uint64_t{0}).has_value());  // below
  EXPECT_EQ(c->cpu_limit(~uint64_t{0}), 0xc0000000u);
  EXPECT_EQ(c->cpu_limit(0x8fffffff), 0x90000000u);  // the mask cuts the window
  EXPECT_EQ(c->cpu_limit(k::dma_bit_mask(31)), 0u);  // below the window: nothing
  EXPECT_EQ(c->bus_to_phys(0x90000000), 0x90000000u);
  EXPECT_FALSE(c->bus_to_phys(0xc0000000).has_value());
}

TEST_F(DmaConfigTest, nested_windows_compose_to_cpu_addresses_with_an_offset) {
  auto c = config("/soc/bridge@20000000/nc@100");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->nr_windows, 1u);
  // Bridge bus 0 -> soc bus 0x9000_0000 -> CPU 0x9000_0000.
  EXPECT_EQ(c->windows[0].bus_start, 0u);
  EXPECT_EQ(c->windows[0].cpu_start, 0x90000000u);
  EXPECT_EQ(c->windows[0].size, 0x10000000u);
  EXPECT_EQ(c->bus_limit, 0x0fffffffu);
  EXPECT_EQ(c->phys_to_bus(0x90001000, 0x100, ~uint64_t{0}), 0x1000u);
  EXPECT_EQ(c->bus_to_phys(0x1000), 0x90001000u);
  EXPECT_FALSE(c->phys_to_bus(0x8ffff000, 0x100, ~uint64_t{0}).has_value());
  EXPECT_EQ(c->cpu_limit(~uint64_t{0}), 0xa0000000u);
  // The smallest mask that covers the bus limit: 28 bits.
  EXPECT_EQ(k::dma_mask_covering(c->bus_limit), k::dma_bit_mask(28));
  EXPECT_EQ(k::dma_mask_covering(0x90000000), k::dma_bit_mask(32));
}

TEST_F(DmaConfigTest, coherence_comes_from_the_nearest_node_that_says) {
  EXPECT_FALSE(config("/soc/bridge@20000000/nc@100")->coherent);  // bus says noncoherent
  EXPECT_TRUE(config("/soc/bridge@20000000/coh@200")->coherent);  // device overrides
  EXPECT_TRUE(config("/soc/dev@10000000", true)->coherent);       // platform default
  EXPECT_FALSE(config("/soc/dev@10000000", false)->coherent);
}

TEST_F(DmaConfigTest, two_windows_are_both_usable_and_the_gap_is_not) {
  auto c = config("/soc/multi@30000000/two@0");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->nr_windows, 2u);
  EXPECT_EQ(c->bus_limit, 0x40ffffffu);
  EXPECT_EQ(c->phys_to_bus(0x80000000, 16, ~uint64_t{0}), 0u);
  EXPECT_EQ(c->phys_to_bus(0xa0000010, 16, ~uint64_t{0}), 0x40000010u);
  EXPECT_FALSE(c->phys_to_bus(0x90000000, 16, ~uint64_t{0}).has_value());
  // A mask below the second window leaves only the first.
  EXPECT_FALSE(c->phys_to_bus(0xa0000010, 16, k::dma_bit_mask(30)).has_value());
  EXPECT_EQ(c->cpu_limit(k::dma_bit_mask(30)), 0x81000000u);
  EXPECT_EQ(c->cpu_limit(~uint64_t{0}), 0xa1000000u);
}

TEST_F(DmaConfigTest, malformed_dma_ranges_is_an_error) {
  auto c = config("/soc/broken/victim@0");
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.error(), k::Errno::kEINVAL);
}

TEST_F(DmaConfigTest, interrupts_use_the_parent_cell_count) {
  uint32_t irqs[4] = {};
  auto n = k::dt_irqs(*fdt_, node("/plain@1000"), irqs, 4);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(irqs[0], 7u);
  // interrupt-parent inherited from /soc; two one-cell specifiers.
  n = k::dt_irqs(*fdt_, node("/soc/dev@10000000"), irqs, 4);
  ASSERT_TRUE(n.has_value());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(irqs[0], 3u);
  EXPECT_EQ(irqs[1], 4u);
  // interrupts-extended with controllers of 1 and 2 cells.
  n = k::dt_irqs(*fdt_, node("/soc/bridge@20000000/nc@100"), irqs, 4);
  ASSERT_TRUE(n.has_value());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(irqs[0], 9u);
  EXPECT_EQ(irqs[1], 5u);
  // No interrupts at all.
  n = k::dt_irqs(*fdt_, node("/soc/bridge@20000000/coh@200"), irqs, 4);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  // Capacity is respected.
  n = k::dt_irqs(*fdt_, node("/soc/dev@10000000"), irqs, 1);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);
}

}  // namespace
