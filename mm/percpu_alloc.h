// Dynamic per-CPU memory (Linux include/linux/percpu.h: alloc_percpu,
// free_percpu, per_cpu_ptr).
//
//   auto* ctr = alloc_percpu<uint64_t>();       // zeroed on every CPU
//   ++*this_cpu_ptr(ctr);                       // with preemption off
//   uint64_t sum = 0;
//   for (unsigned c = 0; c < arch::nr_cpus(); ++c) sum += *per_cpu_ptr(ctr, c);
//   free_percpu(ctr);
//
// Design: every CPU's per-CPU area (arch percpu_init) is the static
// template (.percpu, __percpu_start .. __percpu_end) followed by a dynamic
// region of percpu_dynamic_reserve() bytes at offset
// percpu_dynamic_offset(). This allocator hands out offsets inside that
// region from a bitmap (16-byte units, first fit) and returns them as
// "template addresses" __percpu_start + offset, exactly like the address
// of a static DEFINE_PER_CPU variable: per_cpu_ptr(p, cpu) and
// this_cpu_ptr(p) are then one add, O(1), with no table lookup. Such a
// pointer must never be dereferenced itself.
//
// Limit: the region is fixed at boot (64 KiB per CPU). When it is full,
// alloc_percpu fails with a pr_warn. Linux instead adds chunks: vmalloc'd
// areas placed at the same distance from every CPU's first chunk, so the
// same offset arithmetic reaches them; growing that way is future work.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k {

// Bytes of dynamic region each CPU's area must have after the template.
size_t percpu_dynamic_reserve();
// Offset of the dynamic region from the area's start (template size rounded
// up to a cache line).
size_t percpu_dynamic_offset();
// Total bytes percpu_init must allocate per CPU.
size_t percpu_area_size();
// Called by percpu_init once every CPU's area is percpu_area_size() bytes:
// enables alloc_percpu. Host tests call it after giving their fake CPUs
// areas (and again to start over).
void percpu_dynamic_init();
bool percpu_dynamic_ready();

// size bytes aligned to align (power of two, at most 4096; 0 means 16) on
// every CPU, zeroed. nullptr (after a pr_warn) if the region is full or
// the arguments are bad, or before percpu_dynamic_init.
void* __alloc_percpu(size_t size, size_t align);
inline void* alloc_percpu(size_t size, size_t align) { return __alloc_percpu(size, align); }
template <typename T>
T* alloc_percpu() {
  return static_cast<T*>(__alloc_percpu(sizeof(T), alignof(T)));
}
// nullptr is ignored; a pointer alloc_percpu did not return is reported
// and ignored.
void free_percpu(void* p);

// Bytes of the dynamic region in use (self-test leak counter).
uint64_t percpu_dynamic_used();

}  // namespace k
