// Dynamic per-CPU allocator over the reserved tail of every CPU's per-CPU
// area (see mm/percpu_alloc.h; Linux mm/percpu.c's first chunk, with a
// plain bitmap instead of Linux's block hints).
#include "mm/percpu_alloc.h"

#include <arch/cpu.h>
#include <arch/percpu.h>

#include <cstring>

#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/types.h"

namespace k {

namespace {

constexpr size_t kReserve = 64 * 1024;
constexpr size_t kUnit = 16;  // allocation granule, also the minimum alignment
constexpr size_t kUnits = kReserve / kUnit;
constexpr size_t kWords = kUnits / 64;

// Lock rank: leaf.
SpinLock g_lock;
bool g_ready = false;
uint64_t g_alloc_map[kWords];  // 1 = unit in use
uint64_t g_bound_map[kWords];  // 1 = first unit of an allocation
uint64_t g_used_units = 0;

inline bool test_bit(const uint64_t* m, size_t i) { return m[i / 64] >> (i % 64) & 1; }
inline void set_bit(uint64_t* m, size_t i) { m[i / 64] |= uint64_t{1} << (i % 64); }
inline void clear_bit(uint64_t* m, size_t i) { m[i / 64] &= ~(uint64_t{1} << (i % 64)); }

// First run of n free units starting at a multiple of step; kUnits if none.
size_t find_free_run(size_t n, size_t step) {
  for (size_t start = 0; start + n <= kUnits;) {
    size_t i = 0;
    while (i < n && !test_bit(g_alloc_map, start + i)) ++i;
    if (i == n) return start;
    start = align_up(start + i + 1, step);
  }
  return kUnits;
}

inline char* template_addr(size_t unit) {
  return __percpu_start + percpu_dynamic_offset() + unit * kUnit;
}

}  // namespace

size_t percpu_dynamic_reserve() { return kReserve; }
size_t percpu_dynamic_offset() {
  return align_up(static_cast<size_t>(__percpu_end - __percpu_start), 64);
}
size_t percpu_area_size() { return percpu_dynamic_offset() + kReserve; }

void percpu_dynamic_init() {
  IrqSpinLockGuard g(g_lock);
  std::memset(g_alloc_map, 0, sizeof g_alloc_map);
  std::memset(g_bound_map, 0, sizeof g_bound_map);
  g_used_units = 0;
  g_ready = true;
}

bool percpu_dynamic_ready() {
  IrqSpinLockGuard g(g_lock);
  return g_ready;
}

void* __alloc_percpu(size_t size, size_t align) {
  if (align == 0) align = kUnit;
  if (size == 0 || size > kReserve || !is_pow2(align) || align > kPageSize) {
    pr_warn("alloc_percpu: bad size %zu or alignment %zu\n", size, align);
    return nullptr;
  }
  // The dynamic region starts cache-line aligned in every area (64-byte
  // aligned areas); larger alignments hold relative to that start, which
  // is what callers rely on for cache-line separation.
  const size_t n = (size + kUnit - 1) / kUnit;
  const size_t step = align > kUnit ? align / kUnit : 1;
  size_t start;
  {
    IrqSpinLockGuard g(g_lock);
    if (!g_ready) {
      pr_warn("alloc_percpu: dynamic per-CPU region not set up\n");
      return nullptr;
    }
    start = find_free_run(n, step);
    if (start == kUnits) {
      pr_warn(
          "alloc_percpu: %zu bytes do not fit the %zu-byte dynamic per-CPU region (%llu bytes "
          "used)\n",
          size, kReserve, static_cast<unsigned long long>(g_used_units * kUnit));
      return nullptr;
    }
    for (size_t i = 0; i < n; ++i) set_bit(g_alloc_map, start + i);
    set_bit(g_bound_map, start);
    g_used_units += n;
  }
  char* p = template_addr(start);
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu)
    if (arch::CpuBlock* b = arch::cpu_block_of(cpu))
      std::memset(arch::per_cpu_ptr_in(b, p), 0, n * kUnit);
  return p;
}

void free_percpu(void* ptr) {
  if (!ptr) return;
  const auto a = reinterpret_cast<uintptr_t>(ptr);
  const auto base = reinterpret_cast<uintptr_t>(template_addr(0));
  IrqSpinLockGuard g(g_lock);
  const size_t unit = (a - base) / kUnit;
  if (a < base || (a - base) % kUnit || unit >= kUnits || !test_bit(g_bound_map, unit)) {
    pr_err("free_percpu: %p was not returned by alloc_percpu (or is already free); ignored\n", ptr);
    return;
  }
  clear_bit(g_bound_map, unit);
  size_t i = unit;
  do {
    clear_bit(g_alloc_map, i);
    ++i;
    --g_used_units;
  } while (i < kUnits && test_bit(g_alloc_map, i) && !test_bit(g_bound_map, i));
}

uint64_t percpu_dynamic_used() {
  IrqSpinLockGuard g(g_lock);
  return g_used_units * kUnit;
}

}  // namespace k
