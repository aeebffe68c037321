// KFENCE: a sampling memory-safety detector for slab objects (Linux
// Documentation/dev-tools/kfence.rst, mm/kfence/).
//
// Every N-th slab allocation (`kfence.sample_interval=N`, counted per CPU)
// is served from the KFENCE pool instead of a slab: the object gets a 4 KiB
// page of its own between two absent guard pages, flush against the left or
// the right edge of the page (chosen at random), so an out-of-bounds access
// on that side faults at once. The rest of the page is filled with an
// address-dependent canary that is checked when the object is freed, which
// catches small out-of-bounds writes on the other side. A freed object's
// page is made absent, so a use-after-free faults too; freed slots are
// reused least-recently-freed first, which keeps that window long.
//
// The page-fault path calls kfence_handle_fault() for kernel faults; a
// fault in the pool is reported ("BUG: KFENCE: out-of-bounds read in ...",
// with the allocation and free stacks) and the page is made present so the
// kernel carries on, as Linux does. Invalid frees, double frees and canary
// corruption are reported when the object is freed.
//
// Pool layout (Linux's, one slot = object page + guard page):
//
//   page 0     1       2      3       4           2n-1    2n  [2n+1 ...]
//        guard obj#0 guard  obj#1   guard   ...  obj#n-1 guard (guards)
//
// The pool is one buddy block in the linear map (so virt_to_phys and DMA
// work on sampled objects as on any kmalloc memory); its leaves are split
// to 4 KiB once at boot and pages are switched absent/present by clearing
// and setting V in their own PTEs (arch::set_kernel_page_present), which
// needs no memory and no IPI and is therefore safe in any context.
//
// The allocator hooks are one-liners in mm/slab.cpp and mm/kmalloc.cpp:
// kfence_alloc_due() at the top of kmem_cache_alloc_node() is a per-CPU
// countdown (one load, one store, one branch when not sampling);
// kfence_kmalloc_due() at the top of kmalloc_node() only reads that
// countdown, and takes the sample itself when the next allocation is due
// so that the object gets the size the caller asked for, not its class.
// is_kfence_address() is a single range check used by kfree,
// kmem_cache_free and ksize.
//
// The host build has no page tables to put a pool on: there the hooks
// compile to nothing (the real ones are under __KERNEL__).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mm/gfp.h"

#ifdef __KERNEL__
#include <arch/percpu.h>
#endif

namespace arch {
struct TrapFrame;
}

namespace k {

struct KmemCache;

// What a report was about (counted separately for the self-tests).
enum class KfenceBug : unsigned {
  kOutOfBounds,    // access to a guard page
  kUseAfterFree,   // access to a freed object's page
  kInvalidAccess,  // access to a never-used object page
  kInvalidFree,    // free of a pool address that is no object start, or wrong cache
  kDoubleFree,     // free of an object already freed
  kCorruption,     // canary bytes changed by the time of the free
  kCount,
};

struct KfenceStats {
  uint64_t sample_interval = 0;  // 0: no automatic sampling
  uint64_t num_objects = 0;      // slots in the pool (0: no pool)
  uint64_t pool_pages = 0;       // pages of the pool block
  uint64_t meta_pages = 0;       // pages of the metadata block (both held from boot on)
  uint64_t allocated = 0;        // objects live now
  uint64_t free_slots = 0;       // slots on the free list
  uint64_t total_allocs = 0;
  uint64_t total_frees = 0;
  uint64_t skipped_full = 0;      // samples that fell back to the slab (pool full)
  uint64_t skipped_unsuited = 0;  // samples not placeable (too big, DMA zone, alignment)
  uint64_t bugs[static_cast<unsigned>(KfenceBug::kCount)] = {};
  uint64_t total_bugs = 0;
};

// Boot, after kmem_cache_init(): reads `kfence.sample_interval=` and
// `kfence.num_objects=` (and `bench=`, see docs/kfence.md for the
// defaults), allocates and protects the pool. Without memory it warns and
// stays off; the kernel works as before.
void kfence_init(std::string_view cmdline);

// Slow paths behind the inline hooks; nullptr when the object cannot or
// should not come from the pool (then the slab serves it).
void* __kfence_alloc(KmemCache* s, size_t size, gfp_t gfp);

// The kernel page-fault path: true if addr is in the pool (reported, or a
// stale TLB entry) and the access can be retried; false otherwise.
bool kfence_handle_fault(uint64_t addr, bool is_write, const arch::TrapFrame& regs);

KfenceStats kfence_stats();
uint64_t kfence_nr_reports();
uint64_t kfence_nr_reports(KfenceBug kind);
// Prints the statistics (shell command `kfence`).
void kfence_show_stats();

// Test API. Which edge of its page the next sampled object sits on.
enum class KfenceSide { kRandom, kLeft, kRight };
// Makes the next slab allocation on this CPU a sample, on `side` (the
// caller keeps interrupts off until that allocation, or an interrupt may
// take the sample).
void kfence_force_next_sample(KfenceSide side = KfenceSide::kRandom);
// Sets the interval (0: off) and restarts every CPU's countdown.
void kfence_set_sample_interval(uint64_t interval);

#ifdef __KERNEL__
// Frees a pool object (kfree/kmem_cache_free of an is_kfence_address()
// pointer). s, if given, must be the object's cache. Reports and refuses
// invalid and double frees.
void kfence_free(const void* p, const KmemCache* s);
// Usable size of a pool object (the size asked for); 0 if p is not a live
// object start.
size_t kfence_ksize(const void* p);
// Live pool objects of s (kmem_cache_destroy refuses while there are some).
uint64_t kfence_cache_objects(const KmemCache* s);

// Per-CPU countdown to the next sample; reloaded by __kfence_alloc.
DECLARE_PER_CPU(int64_t, g_kfence_countdown);
extern uintptr_t g_kfence_pool_start;
extern uintptr_t g_kfence_pool_size;

// O(1): whether p lies in the pool (objects and guard pages).
inline bool is_kfence_address(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - g_kfence_pool_start < g_kfence_pool_size;
}

// kmem_cache_alloc_node's hook: counts this allocation down; true when it
// is the one to sample (then kfence_alloc_node serves it). Plain accesses
// to this CPU's counter: an interrupt or migration between load and store
// loses one count, which only shifts the next sample.
inline bool kfence_alloc_due() {
  int64_t* c = this_cpu_ptr(&g_kfence_countdown);
  const int64_t left = *c - 1;
  *c = left;
  return __builtin_expect(left <= 0, 0);
}

// kmalloc_node's hook: only reads the countdown, so that the allocation
// it is due on is sampled with the size the caller asked for (otherwise
// kmem_cache_alloc_node counts it).
inline bool kfence_kmalloc_due() {
  return __builtin_expect(*this_cpu_ptr(&g_kfence_countdown) <= 1, 0);
}

// The sampled allocation, or the slab's if the pool cannot take it. The
// hooks tail-call these, so the fast path keeps its frame-less shape.
void* kfence_alloc_node(KmemCache* s, gfp_t gfp, int nid);
void* kfence_kmalloc_node(KmemCache* s, size_t size, gfp_t gfp, int nid);
#else
inline bool is_kfence_address(const void*) { return false; }
inline bool kfence_alloc_due() { return false; }
inline bool kfence_kmalloc_due() { return false; }
inline void* kfence_alloc_node(KmemCache*, gfp_t, int) { return nullptr; }
inline void* kfence_kmalloc_node(KmemCache*, size_t, gfp_t, int) { return nullptr; }
inline void kfence_free(const void*, const KmemCache*) {}
inline size_t kfence_ksize(const void*) { return 0; }
inline uint64_t kfence_cache_objects(const KmemCache*) { return 0; }
#endif

}  // namespace k
