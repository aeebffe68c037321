// Fault injection (mm/fault_inject.h): Linux's attribute semantics
// (probability, interval, times, space), the boot syntax, the per-task
// fail-nth counter (one per host thread here), and the page allocator hook
// over a fake machine.
#include <thread>

#include "mm/fault_inject.h"
#include "mm_test_arena.h"

namespace {

using k::FaultAttr;
using k::PhysAddr;
using k::PhysRange;
using mmtest::Machine;
using mmtest::MiB;

unsigned count_failures(FaultAttr& a, unsigned calls, uint64_t size = 1) {
  unsigned n = 0;
  for (unsigned i = 0; i < calls; ++i) n += k::should_fail(a, size, true);
  return n;
}

TEST(FaultInject, parse_takes_linux_syntax_and_rejects_the_rest) {
  FaultAttr a("t");
  EXPECT_TRUE(k::fault_attr_parse(a, "10,50,4096,-1"));
  EXPECT_EQ(a.interval.load(), 10u);
  EXPECT_EQ(a.probability.load(), 50u);
  EXPECT_EQ(a.space.load(), 4096);
  EXPECT_EQ(a.times.load(), -1);
  EXPECT_TRUE(k::fault_attr_parse(a, "0,100,0,5"));
  EXPECT_EQ(a.interval.load(), 1u);  // 0 means every call
  for (const char* bad : {"", "1,2,3", "1,2,3,4,5", "1,101,0,1", "x,1,0,1", "1,1,0,-2", "1,,0,1"}) {
    EXPECT_FALSE(k::fault_attr_parse(a, bad)) << bad;
    EXPECT_EQ(a.times.load(), 5) << bad;  // unchanged
  }
}

TEST(FaultInject, probability_zero_never_fails_and_100_always_does) {
  FaultAttr a("t");
  EXPECT_EQ(count_failures(a, 100), 0u);
  ASSERT_TRUE(k::fault_attr_parse(a, "1,100,0,-1"));
  EXPECT_EQ(count_failures(a, 100), 100u);
  EXPECT_EQ(a.injected.load(), 100u);
}

TEST(FaultInject, times_counts_down_to_zero) {
  FaultAttr a("t");
  ASSERT_TRUE(k::fault_attr_parse(a, "1,100,0,3"));
  EXPECT_EQ(count_failures(a, 10), 3u);
  EXPECT_EQ(a.times.load(), 0);
}

TEST(FaultInject, interval_fails_every_nth_call) {
  FaultAttr a("t");
  ASSERT_TRUE(k::fault_attr_parse(a, "4,100,0,-1"));
  std::vector<int> pattern;
  for (int i = 0; i < 12; ++i) pattern.push_back(k::should_fail(a, 1, true));
  EXPECT_EQ(pattern, (std::vector<int>{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
}

TEST(FaultInject, space_lets_that_many_bytes_through_first) {
  FaultAttr a("t");
  ASSERT_TRUE(k::fault_attr_parse(a, "1,100,1000,-1"));
  // 300-byte calls: 1000 > 300, 700 > 300, 400 > 300 pass; 100 is not.
  EXPECT_FALSE(k::should_fail(a, 300, true));
  EXPECT_FALSE(k::should_fail(a, 300, true));
  EXPECT_FALSE(k::should_fail(a, 300, true));
  EXPECT_TRUE(k::should_fail(a, 300, true));
  EXPECT_EQ(a.space.load(), 100);
}

TEST(FaultInject, probability_is_about_right_and_repeatable) {
  FaultAttr a("t");
  ASSERT_TRUE(k::fault_attr_parse(a, "1,30,0,-1"));
  k::fault_inject_seed(7);
  const unsigned first = count_failures(a, 10000);
  EXPECT_GT(first, 2700u);
  EXPECT_LT(first, 3300u);
  k::fault_inject_seed(7);
  EXPECT_EQ(count_failures(a, 10000), first);
}

TEST(FaultInject, fail_nth_fails_exactly_the_nth_call_of_this_thread) {
  FaultAttr a("t");  // probability 0: only the task counter can fail a call
  ASSERT_TRUE(k::fail_nth_set(3));
  EXPECT_FALSE(k::should_fail(a, 1, true));
  EXPECT_FALSE(k::should_fail(a, 1, true));
  EXPECT_EQ(k::fail_nth_get(), 1u);
  // Another thread's calls do not count against this thread's counter.
  std::thread other([&] { EXPECT_FALSE(k::should_fail(a, 1, true)); });
  other.join();
  EXPECT_TRUE(k::should_fail(a, 1, true));
  EXPECT_EQ(k::fail_nth_get(), 0u);
  EXPECT_FALSE(k::should_fail(a, 1, true));  // disarmed after firing
  EXPECT_EQ(a.injected.load(), 1u);
}

TEST(FaultInject, gfp_rules_nofail_min_order_and_reclaim) {
  k::fault_attr_reset(k::fail_page_alloc);
  ASSERT_TRUE(k::fault_attr_parse(k::fail_page_alloc, "1,100,0,-1"));
  EXPECT_FALSE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOFAIL, 0));
  EXPECT_TRUE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOWARN, 0));
  k::fail_page_alloc.min_order.store(2);
  EXPECT_FALSE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOWARN, 1));
  EXPECT_TRUE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOWARN, 2));
  k::fail_page_alloc.ignore_gfp_reclaim.store(true);
  EXPECT_FALSE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOWARN, 3));
  EXPECT_TRUE(k::should_fail_alloc_page(k::GFP_ATOMIC | k::__GFP_NOWARN, 3));
  // fail-nth does not count __GFP_NOFAIL calls either.
  k::fault_attr_reset(k::fail_page_alloc);
  ASSERT_TRUE(k::fail_nth_set(1));
  EXPECT_FALSE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOFAIL, 0));
  EXPECT_EQ(k::fail_nth_get(), 1u);
  EXPECT_TRUE(k::should_fail_alloc_page(k::GFP_KERNEL | k::__GFP_NOWARN, 0));
}

TEST(FaultInject, boot_parameters_configure_each_point) {
  host::log_clear();
  k::fault_inject_setup(
      "console=ttyS0 failslab=2,40,0,7 fail_vmalloc.verbose=0 fail_page_alloc.min_order=3 "
      "fail_swiotlb=1,2 fail_page_alloc.bogus=1");
  EXPECT_EQ(k::failslab.interval.load(), 2u);
  EXPECT_EQ(k::failslab.probability.load(), 40u);
  EXPECT_EQ(k::failslab.times.load(), 7);
  EXPECT_EQ(k::fail_vmalloc.verbose.load(), 0u);
  EXPECT_EQ(k::fail_page_alloc.min_order.load(), 3u);
  EXPECT_EQ(k::fail_swiotlb.probability.load(), 0u);  // malformed: ignored
  const std::string log = host::log_text();
  EXPECT_NE(log.find("fail_swiotlb=1,2: expected"), std::string::npos) << log;
  EXPECT_NE(log.find("fail_page_alloc.bogus=1: unknown option"), std::string::npos) << log;
  for (FaultAttr* a : {&k::fail_page_alloc, &k::failslab, &k::fail_vmalloc, &k::fail_swiotlb})
    k::fault_attr_reset(*a);
  k::fail_vmalloc.verbose.store(1);
}

TEST(FaultInject, the_page_allocator_hook_fails_cleanly_and_reports) {
  Machine m(0x80000000, 0x80000000 + 64 * MiB);
  m.info().add_memory(PhysRange{PhysAddr(0x80000000), 64 * MiB}, k::NUMA_NO_NODE);
  ASSERT_TRUE(m.boot());
  const uint64_t free_before = k::nr_free_pages();
  host::log_clear();
  ASSERT_TRUE(k::fault_attr_parse(k::fail_page_alloc, "1,100,0,1"));
  EXPECT_EQ(k::alloc_pages(k::GFP_KERNEL, 2), nullptr);
  EXPECT_NE(host::log_text().find("FAULT_INJECTION: forcing a failure (fail_page_alloc)"),
            std::string::npos)
      << host::log_text();
  k::Page* p = k::alloc_pages(k::GFP_KERNEL, 2);  // times used up
  ASSERT_NE(p, nullptr);
  k::__free_pages(p, 2);
  EXPECT_EQ(k::nr_free_pages(), free_before);
  k::fault_attr_reset(k::fail_page_alloc);
}

}  // namespace
