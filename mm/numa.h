// NUMA nodes: which nodes exist, how far apart they are, and which node
// each CPU sits on (Linux include/linux/topology.h names).
//
// A node is online when memblock has RAM for it. Node ids are the DT's
// numa-node-id values (< kMaxNumNodes); a DT without them, or with them on
// only some memory nodes, gives one node 0 (like Linux's dummy_numa_init).
// CPUs whose node has no memory are placed on the nearest node with memory.
#pragma once

#include <cstdint>

#include "mm/boot_mem.h"

namespace k {

struct PgData;

// Whether BootMemInfo's node ids can be used as they are (all present and
// in range); otherwise everything is node 0.
bool numa_ids_usable(const BootMemInfo& info);

// Sets up online nodes from memblock's memory regions and distances from
// info; allocates the cpu -> node map for arch::nr_cpus() CPUs, each
// initially on the first online node. Logs "NUMA: ..." lines.
bool numa_init(const BootMemInfo& info);
// Boot code: logical cpu `cpu` runs on a hart of node nid (from
// BootMemInfo::hart_node()); offline or NUMA_NO_NODE picks the nearest
// online node.
void numa_set_cpu_node(unsigned cpu, int nid);

int cpu_to_node(unsigned cpu);
// The node of the calling CPU.
int numa_node_id();
int node_distance(int a, int b);
bool node_online(int nid);
int nr_online_nodes();
int first_online_node();
// The next online node after nid, or kMaxNumNodes.
int next_online_node(int nid);
#define for_each_online_node(nid)                                   \
  for (int nid = ::k::first_online_node(); nid < ::k::kMaxNumNodes; \
       nid = ::k::next_online_node(nid))

PgData* NODE_DATA(int nid);
void set_node_data(int nid, PgData* pg);

}  // namespace k
