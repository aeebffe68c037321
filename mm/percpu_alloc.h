// Dynamic per-CPU memory (Linux include/linux/percpu.h: alloc_percpu,
// free_percpu, per_cpu_ptr).
//
//   auto* ctr = alloc_percpu<uint64_t>();       // zeroed on every CPU
//   ++*this_cpu_ptr(ctr);                       // with preemption off
//   uint64_t sum = 0;
//   for (unsigned c = 0; c < arch::nr_cpus(); ++c) sum += *per_cpu_ptr(ctr, c);
//   free_percpu(ctr);
//
// Design: every CPU's per-CPU area is the start of a unit of virtual
// space (arch::percpu_unit_size() bytes; all units the same size): the
// static template (.percpu, __percpu_start .. __percpu_end), then the
// first chunk's dynamic region of percpu_dynamic_reserve() bytes at
// offset percpu_dynamic_offset(); later chunks of percpu_chunk_size()
// bytes follow at page-aligned offsets, backed on demand with node-local
// pages in every unit at once (arch::percpu_populate). Allocations are
// runs of 16-byte units in a chunk's bitmap (first fit, chunks in address
// order) returned as "template addresses" __percpu_start + offset, exactly
// like the address of a static DEFINE_PER_CPU variable: per_cpu_ptr(p, cpu)
// and this_cpu_ptr(p) are then one add, O(1), with no table lookup, for
// every chunk. Such a pointer must never be dereferenced itself.
//
// Where the units live is the arch's choice (RISC-V: a dedicated region
// with a fixed per-CPU stride, docs/memory-layout.md "Per-CPU units";
// Linux's congruent vmalloc areas do not fit when NUMA nodes' RAM is far
// apart). A grown chunk that becomes empty is freed unless it is the only
// empty one (one spare); percpu_shrink() frees the spare too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k {

// Bytes of the first chunk's dynamic region (after the template).
size_t percpu_dynamic_reserve();
// Bytes per CPU of each chunk added later; also the largest allocation.
size_t percpu_chunk_size();
// Offset of the dynamic region from the area's start (template size rounded
// up to a cache line).
size_t percpu_dynamic_offset();
// Total bytes percpu_init must back per CPU (the first chunk).
size_t percpu_area_size();
// Called by percpu_init once every CPU's area is percpu_area_size() bytes:
// enables alloc_percpu. Host tests call it after giving their fake CPUs
// areas (and again to start over).
void percpu_dynamic_init();
bool percpu_dynamic_ready();

// size bytes (at most percpu_chunk_size()) aligned to align (power of
// two, at most 4096; 0 means 16) on every CPU, zeroed; adds a chunk when
// none has room. nullptr (after a pr_warn) without memory, when the units
// are full, for bad arguments, or before percpu_dynamic_init.
void* __alloc_percpu(size_t size, size_t align);
inline void* alloc_percpu(size_t size, size_t align) { return __alloc_percpu(size, align); }
template <typename T>
T* alloc_percpu() {
  return static_cast<T*>(__alloc_percpu(sizeof(T), alignof(T)));
}
// nullptr is ignored; a pointer alloc_percpu did not return is reported
// and ignored.
void free_percpu(void* p);

// Frees every empty grown chunk, the spare included.
void percpu_shrink();

// Bytes allocated over all chunks (self-test leak counter).
uint64_t percpu_dynamic_used();
// Chunks, the first included (1 when nothing grew).
uint64_t percpu_nr_chunks();

}  // namespace k
