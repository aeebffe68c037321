// Page accounting (mm/accounting.h) over fake machines: the columns add up
// to present pages per zone, the page walk agrees with the counters, and a
// leak, an over-free or a category without its page flag is reported by
// name and zone.
#include <string>
#include <vector>

#include "mm/accounting.h"
#include "mm_test_arena.h"

namespace {

using k::Page;
using k::PhysAddr;
using k::PhysRange;
using mmtest::GiB;
using mmtest::Machine;
using mmtest::MiB;

// 512 MiB straddling 4 GiB: DMA32 and Normal both populated; the "kernel
// image" is the first 2 MiB.
std::unique_ptr<Machine> straddle_machine() {
  auto m = std::make_unique<Machine>(0xF0000000, 0x110000000);
  m->info().add_memory(PhysRange{PhysAddr(0xF0000000), 512 * MiB}, k::NUMA_NO_NODE);
  return m;
}

std::vector<std::string> g_lines;
void collect(void*, const char* line) { g_lines.emplace_back(line); }
bool has_line(const std::string& needle) {
  for (const auto& l : g_lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}
std::string all_lines() {
  std::string s;
  for (const auto& l : g_lines) s += l + "\n";
  return s;
}

// Static: the snapshot is large.
k::MmAccountingSnapshot g_snap;

class AccountingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host::log_clear();
    g_lines.clear();
    m_ = straddle_machine();
    ASSERT_TRUE(m_->boot());
    arch::g_layout.kernel_phys = 0xF0000000;
    arch::g_layout.kernel_size = 2 * MiB;
  }
  void TearDown() override {
    // Every test must leave the global counters balanced.
    for (unsigned c = k::MM_FIRST_CATEGORY; c <= k::MM_LAST_CATEGORY; ++c)
      EXPECT_EQ(k::mm_category_pages(static_cast<k::MmAcct>(c)), 0) << k::mm_acct_name(c);
  }
  k::Zone& zone(k::ZoneType z) { return k::NODE_DATA(0)->node_zones[z]; }
  std::unique_ptr<Machine> m_;
};

TEST_F(AccountingTest, columns_add_up_to_present_pages_after_boot) {
  k::mm_accounting_snapshot(&g_snap);
  for (k::ZoneType zt : {k::ZONE_DMA32, k::ZONE_NORMAL}) {
    const int64_t* row = g_snap.v[0][zt];
    int64_t sum = 0;
    for (unsigned c = 0; c < k::MM_NR_ACCT; ++c) {
      EXPECT_GE(row[c], 0) << k::mm_acct_name(c);
      sum += row[c];
    }
    EXPECT_EQ(sum, static_cast<int64_t>(zone(zt).present_pages));
    EXPECT_EQ(row[k::MM_OTHER], 0);  // nothing allocated yet
  }
  // The image lies in DMA32 only, and it is all reserved.
  EXPECT_EQ(g_snap.v[0][k::ZONE_DMA32][k::MM_KERNEL_IMAGE], int64_t(2 * MiB / k::kPageSize));
  EXPECT_EQ(g_snap.v[0][k::ZONE_NORMAL][k::MM_KERNEL_IMAGE], 0);
  EXPECT_TRUE(k::mm_accounting_check(collect, nullptr)) << all_lines();
  EXPECT_TRUE(k::mm_accounting_verify(g_snap, collect, nullptr)) << all_lines();
}

TEST_F(AccountingTest, category_pages_land_in_the_zone_of_their_page) {
  k::mm_accounting_snapshot(&g_snap);
  Page* low = k::alloc_pages(k::GFP_DMA32, 2);    // DMA32
  Page* high = k::alloc_pages(k::GFP_KERNEL, 0);  // Normal first
  ASSERT_TRUE(low && high);
  ASSERT_EQ(high->zone_idx, k::ZONE_NORMAL);
  k::account_pages(k::MM_PGTABLE, low, 2, +1);
  k::account_pages(k::MM_USER, high, 0, +1);
  EXPECT_EQ(k::mm_category_pages(k::MM_PGTABLE, 0, k::ZONE_DMA32), 4);
  EXPECT_EQ(k::mm_category_pages(k::MM_USER, 0, k::ZONE_NORMAL), 1);
  EXPECT_TRUE(k::mm_accounting_check(collect, nullptr)) << all_lines();
  EXPECT_FALSE(k::mm_accounting_verify(g_snap, collect, nullptr));
  EXPECT_TRUE(has_line("zone DMA32 node 0: pgtable 0 -> 4 (+4 pages)")) << all_lines();
  EXPECT_TRUE(has_line("zone Normal node 0: user 0 -> 1 (+1 pages)")) << all_lines();
  EXPECT_TRUE(has_line("zone DMA32 node 0: free+pcp")) << all_lines();
  EXPECT_FALSE(has_line("other")) << all_lines();  // attributed, not "other"
  k::account_pages(k::MM_PGTABLE, low, 2, -1);
  k::__free_pages(low, 2);
  k::put_accounted_page(k::MM_USER, high);
  g_lines.clear();
  EXPECT_TRUE(k::mm_accounting_verify(g_snap, collect, nullptr)) << all_lines();
}

TEST_F(AccountingTest, pages_without_a_category_show_up_as_other) {
  k::mm_accounting_snapshot(&g_snap);
  Page* p = k::alloc_pages(k::GFP_DMA32, 3);
  ASSERT_TRUE(p);
  EXPECT_FALSE(k::mm_accounting_verify(g_snap, collect, nullptr));
  EXPECT_TRUE(has_line("zone DMA32 node 0: other 0 -> 8 (+8 pages)")) << all_lines();
  k::__free_pages(p, 3);
  g_lines.clear();
  EXPECT_TRUE(k::mm_accounting_verify(g_snap, collect, nullptr)) << all_lines();
}

TEST_F(AccountingTest, order0_frees_to_pcp_lists_are_not_a_difference) {
  k::drain_all_pages(nullptr);
  k::mm_accounting_snapshot(&g_snap);
  Page* p = k::alloc_pages(k::GFP_KERNEL, 0);
  ASSERT_TRUE(p);
  k::__free_pages(p, 0);  // onto this CPU's pcp list
  EXPECT_TRUE(k::mm_accounting_verify(g_snap, collect, nullptr)) << all_lines();
  EXPECT_TRUE(k::mm_accounting_check(collect, nullptr)) << all_lines();
}

TEST_F(AccountingTest, an_over_free_makes_a_negative_column) {
  Page* p = k::alloc_pages(k::GFP_KERNEL, 0);
  ASSERT_TRUE(p);
  k::account_pages(k::MM_VMALLOC, p, 0, -1);  // freed from a category it never joined
  EXPECT_FALSE(k::mm_accounting_check(collect, nullptr));
  EXPECT_TRUE(has_line("zone Normal node 0: vmalloc is negative (-1 pages)")) << all_lines();
  k::account_pages(k::MM_VMALLOC, p, 0, +1);
  k::__free_pages(p, 0);
}

TEST_F(AccountingTest, the_page_walk_catches_counters_that_disagree_with_page_flags) {
  Page* p = k::alloc_pages(k::GFP_KERNEL, 1);
  ASSERT_TRUE(p);
  k::account_pages(k::MM_SLAB, p, 1, +1);  // counted as slab, but no PG_slab
  EXPECT_FALSE(k::mm_accounting_check(collect, nullptr));
  EXPECT_TRUE(has_line("slab (PG_slab blocks): page walk finds 0, counters say 2")) << all_lines();
  g_lines.clear();
  p->set(k::PageFlag::kSlab);
  EXPECT_TRUE(k::mm_accounting_check(collect, nullptr)) << all_lines();
  p->clear(k::PageFlag::kSlab);
  k::account_pages(k::MM_SLAB, p, 1, -1);
  k::__free_pages(p, 1);
}

TEST_F(AccountingTest, shared_pages_leave_their_category_with_the_last_reference) {
  Page* p = k::alloc_pages(k::GFP_KERNEL, 0);
  ASSERT_TRUE(p);
  k::account_pages(k::MM_USER, p, 0, +1);
  k::get_page(p);  // a fork shares it
  const uint64_t free_before = k::nr_free_pages();
  k::put_accounted_page(k::MM_USER, p);
  EXPECT_EQ(k::mm_category_pages(k::MM_USER), 1);
  EXPECT_EQ(k::nr_free_pages(), free_before);
  k::put_accounted_page(k::MM_USER, p);
  EXPECT_EQ(k::mm_category_pages(k::MM_USER), 0);
  EXPECT_EQ(k::nr_free_pages(), free_before + 1);
}

TEST_F(AccountingTest, reaccounting_moves_pages_between_categories) {
  Page* p = k::alloc_pages(k::GFP_KERNEL, 0);
  ASSERT_TRUE(p);
  k::account_pages(k::MM_VMALLOC, p, 0, +1);
  k::reaccount_pages(k::MM_VMALLOC, k::MM_KSTACK, p, 0);
  EXPECT_EQ(k::mm_category_pages(k::MM_VMALLOC), 0);
  EXPECT_EQ(k::mm_category_pages(k::MM_KSTACK), 1);
  k::account_pages(k::MM_KSTACK, p, 0, -1);
  k::__free_pages(p, 0);
}

TEST_F(AccountingTest, an_empty_snapshot_is_refused) {
  k::MmAccountingSnapshot* empty = new k::MmAccountingSnapshot();
  EXPECT_FALSE(k::mm_accounting_verify(*empty, collect, nullptr));
  EXPECT_TRUE(has_line("no snapshot")) << all_lines();
  delete empty;
}

}  // namespace
