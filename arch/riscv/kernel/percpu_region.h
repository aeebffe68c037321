// Boot half of the per-CPU region (percpu_region.cpp); the growth half is
// the arch interface in <arch/percpu.h>.
#pragma once

#include <cstddef>

#include <arch/percpu.h>

namespace arch {

// percpu_init: maps first_chunk bytes of node-local memblock memory at
// the start of CPU cpu's unit (the stride is fixed by the first call from
// nr_cpus) and returns that address, the CPU's block. Panics without
// memory.
CpuBlock* percpu_setup_unit(unsigned cpu, unsigned nr_cpus, int node, size_t first_chunk);

}  // namespace arch
