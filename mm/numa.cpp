// NUMA node bookkeeping. See numa.h.
#include "mm/numa.h"

#include <arch/cpu.h>

#include "kernel/printk.h"
#include "mm/memblock.h"

namespace k {

namespace {
bool g_online[kMaxNumNodes];
uint8_t g_distance[kMaxNumNodes][kMaxNumNodes];
PgData* g_node_data[kMaxNumNodes];
int* g_cpu_node;  // [g_nr_cpu_ids], from memblock
unsigned g_nr_cpu_ids;
int g_first_node = kMaxNumNodes;

int nearest_online(int nid) {
  if (nid >= 0 && nid < kMaxNumNodes && g_online[nid]) return nid;
  if (nid < 0 || nid >= kMaxNumNodes) return g_first_node;
  int best = g_first_node;
  for (int n = 0; n < kMaxNumNodes; ++n)
    if (g_online[n] && g_distance[nid][n] < g_distance[nid][best]) best = n;
  return best;
}
}  // namespace

bool numa_ids_usable(const BootMemInfo& info) {
  if (info.nr_memory == 0) return false;
  bool any = false, all = true;
  for (size_t i = 0; i < info.nr_memory; ++i) {
    const int nid = info.memory[i].nid;
    if (nid == NUMA_NO_NODE) {
      all = false;
      continue;
    }
    if (nid < 0 || nid >= kMaxNumNodes) return false;
    any = true;
  }
  return any && all;
}

bool numa_init(const BootMemInfo& info) {
  for (int i = 0; i < kMaxNumNodes; ++i) {
    g_online[i] = false;
    g_node_data[i] = nullptr;
    for (int j = 0; j < kMaxNumNodes; ++j) g_distance[i][j] = info.node_distance(i, j);
  }
  g_first_node = kMaxNumNodes;
  memblock.for_each_mem_region([](const MemblockRegion& r) {
    const int nid = r.nid >= 0 && r.nid < kMaxNumNodes ? r.nid : 0;
    g_online[nid] = true;
  });
  for (int n = 0; n < kMaxNumNodes; ++n)
    if (g_online[n]) {
      g_first_node = n;
      break;
    }
  if (g_first_node == kMaxNumNodes) {
    pr_err("NUMA: no memory in memblock, no node can be brought online\n");
    return false;
  }
  const int nr = nr_online_nodes();
  if (nr > 1) {
    pr_info("NUMA: %d nodes, distance table:\n", nr);
    for_each_online_node(a) {
      pr_info("  node %2d:", a);
      for_each_online_node(b) printk_raw(" %4u", g_distance[a][b]);
      printk_raw("\n");
    }
  } else {
    pr_info("NUMA: single node %d\n", g_first_node);
  }
  g_nr_cpu_ids = arch::nr_cpus() ? arch::nr_cpus() : 1;
  g_cpu_node =
      static_cast<int*>(memblock.alloc(g_nr_cpu_ids * sizeof(int), alignof(int), g_first_node));
  if (!g_cpu_node) {
    g_nr_cpu_ids = 0;
    return false;
  }
  for (unsigned c = 0; c < g_nr_cpu_ids; ++c) g_cpu_node[c] = g_first_node;
  return true;
}

void numa_set_cpu_node(unsigned cpu, int nid) {
  if (cpu >= g_nr_cpu_ids) {
    pr_err("NUMA: cpu %u out of range (nr_cpus %u)\n", cpu, g_nr_cpu_ids);
    return;
  }
  const int n = nearest_online(nid);
  if (n != nid) pr_info("NUMA: cpu %u node %d has no memory, using node %d\n", cpu, nid, n);
  g_cpu_node[cpu] = n;
}

int cpu_to_node(unsigned cpu) { return cpu < g_nr_cpu_ids ? g_cpu_node[cpu] : g_first_node; }
int numa_node_id() { return cpu_to_node(arch::this_cpu()); }

int node_distance(int a, int b) {
  if (a < 0 || b < 0 || a >= kMaxNumNodes || b >= kMaxNumNodes) return kRemoteDistance;
  return g_distance[a][b];
}

bool node_online(int nid) { return nid >= 0 && nid < kMaxNumNodes && g_online[nid]; }
int nr_online_nodes() {
  int n = 0;
  for (bool b : g_online) n += b;
  return n;
}
int first_online_node() { return g_first_node; }
int next_online_node(int nid) {
  for (int n = nid + 1; n < kMaxNumNodes; ++n)
    if (g_online[n]) return n;
  return kMaxNumNodes;
}

PgData* NODE_DATA(int nid) { return nid >= 0 && nid < kMaxNumNodes ? g_node_data[nid] : nullptr; }
void set_node_data(int nid, PgData* pg) {
  if (nid >= 0 && nid < kMaxNumNodes) g_node_data[nid] = pg;
}

}  // namespace k
