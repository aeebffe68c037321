// Shared set-up for the object-allocator host tests: a booted fake machine
// (mm_test_arena.h) with the slab allocator initialised, and baselines that
// every test compares against at the end ("nothing lost", TESTING.md).
#pragma once

#include <memory>
#include <string>

#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"
#include "mm_test_arena.h"

namespace slabtest {

using mmtest::GiB;
using mmtest::MiB;

inline constexpr uint64_t kBase = 0x80000000;

// 128 MiB at 2 GiB (all DMA32).
inline std::unique_ptr<mmtest::Machine> small_machine(unsigned cpus) {
  auto m = std::make_unique<mmtest::Machine>(kBase, kBase + 128 * MiB, cpus);
  m->info().add_memory(k::PhysRange{k::PhysAddr(kBase), 128 * MiB}, k::NUMA_NO_NODE);
  return m;
}

// 512 MiB straddling 4 GiB: 256 MiB DMA32 + 256 MiB Normal.
inline std::unique_ptr<mmtest::Machine> straddle_machine(unsigned cpus) {
  auto m = std::make_unique<mmtest::Machine>(0xF0000000, 0x110000000, cpus);
  m->info().add_memory(k::PhysRange{k::PhysAddr(0xF0000000), 512 * MiB}, k::NUMA_NO_NODE);
  return m;
}

// Two nodes of 128 MiB (node 0 at 2 GiB, node 1 at 4 GiB).
inline std::unique_ptr<mmtest::Machine> two_nodes(unsigned cpus) {
  auto m = std::make_unique<mmtest::Machine>(0x80000000, 0x108000000, cpus);
  auto& info = m->info();
  info.add_memory(k::PhysRange{k::PhysAddr(0x80000000), 128 * MiB}, 0);
  info.add_memory(k::PhysRange{k::PhysAddr(0x100000000), 128 * MiB}, 1);
  info.set_distance(0, 1, 20);
  info.set_distance(1, 0, 20);
  return m;
}

inline size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

class SlabFixture : public ::testing::Test {
 protected:
  void boot(std::unique_ptr<mmtest::Machine> m, const char* cmdline = "") {
    m_ = std::move(m);
    host::g_log_echo = false;
    k::slab_debug_reset();
    ASSERT_TRUE(m_->boot());
    k::kmem_cache_init(cmdline);
    base_pages_ = settle();
    base_objects_ = k::slab_nr_objects();
    base_reports_ = k::slab_nr_reports();
    host::log_clear();
  }
  void SetUp() override { boot(small_machine(4)); }
  void TearDown() override {
    arch::set_this_cpu(0);
    // Every test gives back what it took.
    EXPECT_EQ(k::slab_nr_objects(), base_objects_);
    EXPECT_EQ(settle(), base_pages_);
    EXPECT_EQ(k::kmalloc_large_pages(), 0u);
    k::slab_debug_reset();
    host::g_log_echo = true;
  }
  // Free pages once every cache is shrunk and the pcp lists are drained.
  static uint64_t settle() {
    k::slab_nr_pages_shrunk();
    k::drain_all_pages(nullptr);
    return k::nr_free_pages();
  }
  uint64_t reports() const { return k::slab_nr_reports() - base_reports_; }
  uint64_t live_objects() const { return k::slab_nr_objects() - base_objects_; }

  std::unique_ptr<mmtest::Machine> m_;
  uint64_t base_pages_ = 0, base_objects_ = 0, base_reports_ = 0;
};

}  // namespace slabtest
