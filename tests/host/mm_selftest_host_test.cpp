// Runs the on-target page allocator self-tests (mm/page_alloc_selftest.cpp)
// on fake machines, so they are known to pass (and to be able to fail)
// before they meet QEMU. The selftest Context is implemented here.
#include <cstdarg>

#include "kernel/selftest.h"
#include "mm_test_arena.h"

// The self-test file is included so its static test functions are callable.
#include "mm/page_alloc_selftest.cpp"

namespace k::selftest {
namespace {
std::string g_failures;
}
void Context::fail(const char* file, int line, const char* expr) {
  ++failures_;
  g_failures += std::string(file) + ":" + std::to_string(line) + ": " + expr + "\n";
}
void Context::fail_eq(const char* file, int line, const char* a, const char* b, uint64_t va,
                      uint64_t vb) {
  ++failures_;
  g_failures += std::string(file) + ":" + std::to_string(line) + ": " + a + " == " + b + " (" +
                std::to_string(va) + " vs " + std::to_string(vb) + ")\n";
}
void Context::diag(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[256];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  printf("    # %s\n", buf);
}
}  // namespace k::selftest

namespace {

using k::PhysAddr;
using k::PhysRange;
using mmtest::MiB;

struct Outcome {
  bool failed;
  const char* skip;
};

Outcome run(void (*fn)(k::selftest::Context&)) {
  k::selftest::Context ctx;
  k::selftest::g_failures.clear();
  const uint64_t before = k::selftest_counter_nr_free_pages.read();
  host::g_log_echo = false;
  fn(ctx);
  host::g_log_echo = true;
  EXPECT_EQ(k::selftest_counter_nr_free_pages.read(), before) << "nr_free_pages counter";
  EXPECT_FALSE(ctx.failed()) << k::selftest::g_failures;
  return {ctx.failed(), ctx.skip_reason()};
}

void run_all(bool expect_dma, bool expect_normal) {
  using namespace k;
  run(selftest_fn_buddy_alloc_every_order);
  run(selftest_fn_buddy_exhaust_zone_then_free_restores_free_lists);
  EXPECT_EQ(run(selftest_fn_buddy_dma32_allocations_stay_below_4g).skip != nullptr, !expect_normal);
  EXPECT_EQ(run(selftest_fn_buddy_dma_allocations_stay_below_the_dma_limit).skip != nullptr,
            !expect_dma);
  run(selftest_fn_buddy_node_local_allocation_lands_on_the_harts_node);
  run(selftest_fn_buddy_zeroed_and_compound_pages);
  run(selftest_fn_buddy_bench_instructions_per_alloc_free);
}

TEST(MmSelftestOnHost, small_dma32_only_machine) {
  mmtest::Machine m(0x80000000, 0x80000000 + 128 * MiB, 2);
  m.info().add_memory(PhysRange{PhysAddr(0x80000000), 128 * MiB}, k::NUMA_NO_NODE);
  ASSERT_TRUE(m.boot());
  run_all(false, false);
}

TEST(MmSelftestOnHost, two_nodes_straddling_4g_with_dma_zone) {
  mmtest::Machine m(0xE0000000, 0x120000000, 2);
  m.info().add_memory(PhysRange{PhysAddr(0xE0000000), 512 * MiB}, 0);
  m.info().add_memory(PhysRange{PhysAddr(0x100000000), 512 * MiB}, 1);
  m.info().dma_zone_limit = 0xE8000000;
  ASSERT_TRUE(m.boot());
  k::numa_set_cpu_node(1, 1);
  run_all(true, true);
  arch::set_this_cpu(1);
  run(k::selftest_fn_buddy_node_local_allocation_lands_on_the_harts_node);
  arch::set_this_cpu(0);
}

}  // namespace
