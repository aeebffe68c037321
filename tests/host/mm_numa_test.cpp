// NUMA: nodes from memory node ids, distances, zonelist order, node-local
// allocation, __GFP_THISNODE, cpu -> node.
#include "mm_test_arena.h"

namespace {

using k::GFP_KERNEL;
using k::Page;
using k::PhysAddr;
using k::PhysRange;
using mmtest::GiB;
using mmtest::Machine;
using mmtest::MiB;

// Three nodes of 128 MiB: node 0 at 2 GiB, node 1 at 4 GiB, node 2 at
// 6 GiB; node 0 is closer to node 2 (15) than to node 1 (30).
std::unique_ptr<Machine> three_nodes() {
  auto m = std::make_unique<Machine>(0x80000000, 0x188000000, 4);
  auto& info = m->info();
  info.add_memory(PhysRange{PhysAddr(0x80000000), 128 * MiB}, 0);
  info.add_memory(PhysRange{PhysAddr(0x100000000), 128 * MiB}, 1);
  info.add_memory(PhysRange{PhysAddr(0x180000000), 128 * MiB}, 2);
  info.set_distance(0, 1, 30);
  info.set_distance(1, 0, 30);
  info.set_distance(0, 2, 15);
  info.set_distance(2, 0, 15);
  info.set_distance(1, 2, 20);
  info.set_distance(2, 1, 20);
  return m;
}

std::vector<std::pair<int, int>> zonelist(int nid, bool thisnode = false) {
  std::vector<std::pair<int, int>> v;
  const k::Zonelist& zl =
      thisnode ? k::NODE_DATA(nid)->zonelist_nofallback : k::NODE_DATA(nid)->zonelist_fallback;
  for (size_t i = 0; i < zl.nr; ++i) v.emplace_back(zl.zones[i]->node, zl.zones[i]->idx);
  EXPECT_EQ(zl.zones[zl.nr], nullptr);
  return v;
}

TEST(MmNuma, nodes_zones_and_zonelists_follow_distances) {
  auto m = three_nodes();
  ASSERT_TRUE(m->boot());
  EXPECT_EQ(k::nr_online_nodes(), 3);
  EXPECT_EQ(k::node_distance(0, 2), 15);
  EXPECT_EQ(k::node_distance(1, 1), 10);
  // Node 0 has only DMA32, nodes 1 and 2 only Normal.
  EXPECT_TRUE(k::NODE_DATA(0)->node_zones[k::ZONE_DMA32].populated());
  EXPECT_FALSE(k::NODE_DATA(0)->node_zones[k::ZONE_NORMAL].populated());
  EXPECT_TRUE(k::NODE_DATA(1)->node_zones[k::ZONE_NORMAL].populated());
  using V = std::vector<std::pair<int, int>>;
  EXPECT_EQ(zonelist(0), (V{{0, k::ZONE_DMA32}, {2, k::ZONE_NORMAL}, {1, k::ZONE_NORMAL}}));
  EXPECT_EQ(zonelist(1), (V{{1, k::ZONE_NORMAL}, {2, k::ZONE_NORMAL}, {0, k::ZONE_DMA32}}));
  EXPECT_EQ(zonelist(2), (V{{2, k::ZONE_NORMAL}, {0, k::ZONE_DMA32}, {1, k::ZONE_NORMAL}}));
  EXPECT_EQ(zonelist(1, true), (V{{1, k::ZONE_NORMAL}}));
  EXPECT_NE(host::log_text().find("Fallback order for Node 0: 0 2 1"), std::string::npos);
  // Page structs know their node.
  EXPECT_EQ(k::phys_to_page(PhysAddr(0x100000000))->nid, 1);
  EXPECT_EQ(k::phys_to_page(PhysAddr(0x187fff000))->nid, 2);
}

TEST(MmNuma, allocations_land_on_the_cpus_node_and_thisnode_does_not_fall_back) {
  auto m = three_nodes();
  ASSERT_TRUE(m->boot());
  k::numa_set_cpu_node(0, 0);
  k::numa_set_cpu_node(1, 1);
  k::numa_set_cpu_node(2, 2);
  k::numa_set_cpu_node(3, 7);  // offline node: nearest online (the first)
  EXPECT_EQ(k::cpu_to_node(3), 0);
  for (unsigned cpu = 0; cpu < 3; ++cpu) {
    arch::set_this_cpu(cpu);
    Page* p = k::alloc_pages(GFP_KERNEL, 0);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->nid, static_cast<int>(cpu));
    k::__free_pages(p, 0);
  }
  arch::set_this_cpu(0);
  Page* p = k::alloc_pages_node(1, GFP_KERNEL, 2);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->nid, 1);
  k::__free_pages(p, 2);
  // GFP_DMA32 from node 1's CPU: node 1 has no DMA32, so it comes from
  // node 0 (the only memory below 4 GiB).
  arch::set_this_cpu(1);
  Page* d = k::alloc_pages(k::GFP_DMA32, 0);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->nid, 0);
  EXPECT_EQ(k::alloc_pages(k::GFP_DMA32 | k::__GFP_THISNODE | k::__GFP_NOWARN, 0), nullptr);
  k::__free_pages(d, 0);
  // Exhaust node 1 with __GFP_THISNODE; a normal request then falls back
  // to node 2 (nearer than node 0).
  host::g_log_echo = false;
  std::vector<Page*> pages;
  while (Page* q = k::alloc_pages(GFP_KERNEL | k::__GFP_THISNODE | k::__GFP_NOWARN, 0)) {
    ASSERT_EQ(q->nid, 1);
    pages.push_back(q);
  }
  host::g_log_echo = true;
  EXPECT_GT(pages.size(), 30000u);
  Page* f = k::alloc_pages(GFP_KERNEL, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->nid, 2);
  k::__free_pages(f, 0);
  for (Page* q : pages) k::__free_pages(q, 0);
  arch::set_this_cpu(0);
}

TEST(MmNuma, no_node_ids_means_one_node) {
  auto m = std::make_unique<Machine>(0x80000000, 0x90000000);
  m->info().add_memory(PhysRange{PhysAddr(0x80000000), 128 * MiB}, k::NUMA_NO_NODE);
  m->info().add_memory(PhysRange{PhysAddr(0x88000000), 128 * MiB}, k::NUMA_NO_NODE);
  ASSERT_TRUE(m->boot());
  EXPECT_EQ(k::nr_online_nodes(), 1);
  EXPECT_EQ(k::first_online_node(), 0);
  EXPECT_EQ(k::NODE_DATA(0)->node_present_pages, 256 * MiB / k::kPageSize);
}

}  // namespace
