// Allocation-failure injection (Linux lib/fault-inject.c,
// Documentation/fault-injection/fault-injection.rst).
//
// Four fault points, each with its own attributes (FaultAttr):
//
//   fail_page_alloc   alloc_pages() family           (mm/page_alloc.cpp)
//   failslab          kmem_cache_alloc / kmalloc     (mm/slab.cpp)
//   fail_vmalloc      vmalloc family                 (mm/vmalloc.cpp)
//   fail_swiotlb      bounce-buffer slot mapping     (mm/dma/swiotlb.cpp)
//
// An attribute fails a call when, in Linux's order: times != 0, the
// `space` budget (bytes let through first) is used up, the call is the
// interval-th since the last check, and a random draw is below
// `probability` percent. `times` counts down to 0 (-1: no limit).
//
// Independently of the attributes, a task can arm its own counter
// (Linux /proc/<pid>/fail-nth): fail_nth = N makes the N-th fault-point
// call *of that task* from now fail, whatever point it is, then disarms.
// Calls from interrupt context or before the scheduler runs do not count.
// Reading the counter back tells a sweep whether the failure fired
// (0) or the operation finished before reaching its N-th point (> 0).
//
// __GFP_NOFAIL calls are never failed and do not count; __GFP_NOWARN
// silences the "FAULT_INJECTION:" report line.
//
// Boot parameters (Linux syntax, setup_fault_attr()):
//   fail_page_alloc=<interval>,<probability>,<space>,<times>
//   failslab=..., fail_vmalloc=..., fail_swiotlb=...
//   <name>.verbose=0|1   report every injected failure (default 1)
//   fail_page_alloc.min_order=N  only orders >= N are candidates (default 0)
//   <name>.ignore_gfp_reclaim=1  never fail calls that may sleep
// Unlike Linux, ignore_gfp_reclaim and min_order default to off: there is
// no reclaim here, so a GFP_KERNEL order-0 request can really fail and
// must be exercised.
//
// The hooks are one-line checks at the allocators' entries:
//   if (should_fail_alloc_page(gfp, order)) return nullptr;
// which cost one relaxed load while nothing is armed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mm/gfp.h"

namespace k {

struct FaultAttr {
  const char* name;
  std::atomic<uint32_t> probability{0};  // percent, 0..100
  std::atomic<uint64_t> interval{1};
  std::atomic<int64_t> times{1};  // failures left; -1 = no limit
  std::atomic<int64_t> space{0};  // bytes to let through before failing
  std::atomic<uint32_t> verbose{1};
  std::atomic<bool> ignore_gfp_reclaim{false};
  std::atomic<uint32_t> min_order{0};  // fail_page_alloc only
  // Statistics.
  std::atomic<uint64_t> calls{0};     // calls that reached the attribute
  std::atomic<uint64_t> injected{0};  // failures injected (either path)

  explicit constexpr FaultAttr(const char* n) : name(n) {}
  FaultAttr(const FaultAttr&) = delete;
  FaultAttr& operator=(const FaultAttr&) = delete;
};

extern FaultAttr fail_page_alloc;
extern FaultAttr failslab;
extern FaultAttr fail_vmalloc;
extern FaultAttr fail_swiotlb;

// Nonzero once any attribute or task counter has been armed (sticky): the
// only cost of a hook while fault injection is unused.
extern std::atomic<uint32_t> g_fault_inject_armed;
inline bool fault_inject_armed() { return g_fault_inject_armed.load(std::memory_order_relaxed); }

// Linux should_fail(): true if this call (of `size` bytes) must fail.
// `nowarn` suppresses the report.
bool should_fail(FaultAttr& attr, uint64_t size, bool nowarn);

// The per-point filters (GFP rules above), out of line.
bool __should_fail_alloc_page(gfp_t gfp, unsigned order);
bool __should_failslab(size_t size, gfp_t gfp);
bool __should_fail_vmalloc(size_t size, gfp_t gfp);
bool __should_fail_swiotlb(size_t size);

// The hooks.
inline bool should_fail_alloc_page(gfp_t gfp, unsigned order) {
  return fault_inject_armed() && __should_fail_alloc_page(gfp, order);
}
inline bool should_failslab(size_t size, gfp_t gfp) {
  return fault_inject_armed() && __should_failslab(size, gfp);
}
inline bool should_fail_vmalloc(size_t size, gfp_t gfp) {
  return fault_inject_armed() && __should_fail_vmalloc(size, gfp);
}
inline bool should_fail_swiotlb(size_t size) {
  return fault_inject_armed() && __should_fail_swiotlb(size);
}

// Parses Linux's "<interval>,<probability>,<space>,<times>" into attr
// (setup_fault_attr()); false (attr unchanged) on malformed text or a
// probability above 100.
bool fault_attr_parse(FaultAttr& attr, std::string_view text);
// Sets up every attribute from the boot command line (see above).
void fault_inject_setup(std::string_view cmdline);
// Back to the unarmed defaults (tests); statistics are kept.
void fault_attr_reset(FaultAttr& attr);
// The attribute called `name` ("failslab", ...), nullptr if none.
FaultAttr* fault_attr_by_name(std::string_view name);
// Seeds the probability draw (deterministic runs).
void fault_inject_seed(uint64_t seed);

// The calling task's fail-nth counter; nullptr outside task context
// (interrupts, early boot). Provided by the kernel
// (mm/fault_inject_task.cpp) or by the host fakes.
std::atomic<uint32_t>* fault_inject_task_nth();

// The calling task's counter (Linux /proc/self/fail-nth): arm with N >= 1
// (fail the N-th fault-point call from now), 0 disarms. Returns false when
// not in task context.
bool fail_nth_set(uint32_t n);
// Remaining count: 0 = fired (or never armed), > 0 = not reached yet.
uint32_t fail_nth_get();
// Arms `counter` (another task's, /proc/<pid>/fail-nth).
void fail_nth_arm(std::atomic<uint32_t>& counter, uint32_t n);

}  // namespace k
