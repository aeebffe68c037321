// The soak (issue 9 item 7, docs/reliability.md): `selftest=soak
// soak.seconds=N` keeps every hart busy for N seconds with user processes
// (tests/user churn and sysfuzz), kernel threads doing kmalloc / vmalloc /
// page churn and virtio-blk I/O, in rounds; after each round, with
// everything it started gone, the accounting invariant must hold.
#pragma once

#include <cstdint>

namespace k {

// What the invariant compares: one value per "nothing lost" counter.
struct SoakSnapshot {
  uint64_t* values = nullptr;  // kmalloc'd, soak_snapshot_free() releases
  unsigned count = 0;
};

// Takes the snapshot the invariant is checked against. The kernel must be
// quiescent (no soak work running).
SoakSnapshot soak_snapshot();
void soak_snapshot_free(SoakSnapshot& s);

// The periodic check: compares the state now to `base` and prints one
// "# soak: LEAK <category> ..." line per difference; returns how many
// categories differ (0 = nothing lost). It reads every SELFTEST_COUNTER
// (free pages, slab objects and pages, vmalloc pages, vmap areas, tasks,
// open files, mm structs, DMA mappings, ...) and verifies the global page
// accounting of every zone and category (mm/accounting.h).
unsigned soak_check_invariant(const SoakSnapshot& base);

}  // namespace k
