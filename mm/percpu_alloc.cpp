// Dynamic per-CPU allocator: chunks of every CPU's unit, each with a
// bitmap of 16-byte units (see mm/percpu_alloc.h; Linux mm/percpu.c, with
// plain bitmaps instead of Linux's block hints).
#include "mm/percpu_alloc.h"

#include <arch/cpu.h>
#include <arch/percpu.h>

#include <cstring>

#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/types.h"
#include "mm/kmalloc.h"

namespace k {

namespace {

constexpr size_t kReserve = 64 * 1024;    // the first chunk's dynamic bytes
constexpr size_t kChunkSize = 64 * 1024;  // bytes per CPU of each later chunk
constexpr size_t kUnit = 16;              // allocation granule and minimum alignment
constexpr size_t kUnits = kChunkSize / kUnit;
constexpr size_t kWords = kUnits / 64;
static_assert(kReserve == kChunkSize, "one bitmap size for every chunk");

struct Chunk {
  Chunk* next;                 // the list is sorted by base
  size_t base;                 // offset of the chunk's first byte from the area start
  size_t used;                 // units in use
  bool populated;              // false while percpu_populate runs for it
  uint64_t alloc_map[kWords];  // 1 = unit in use
  uint64_t bound_map[kWords];  // 1 = first unit of an allocation
};

// Lock rank: leaf (growth allocates and maps with it dropped).
SpinLock g_lock;
bool g_ready = false;
Chunk g_first;               // the reserved region after the template
Chunk* g_chunks = &g_first;  // every chunk, by base
uint64_t g_used_units = 0;   // over all chunks
uint64_t g_nr_chunks = 1;    // including g_first

inline bool test_bit(const uint64_t* m, size_t i) { return m[i / 64] >> (i % 64) & 1; }
inline void set_bit(uint64_t* m, size_t i) { m[i / 64] |= uint64_t{1} << (i % 64); }
inline void clear_bit(uint64_t* m, size_t i) { m[i / 64] &= ~(uint64_t{1} << (i % 64)); }

// First run of n free units in c whose address is a multiple of align;
// kUnits if none. Unit bases are page-aligned, so an aligned offset is an
// aligned address on every CPU.
size_t find_free_run(const Chunk& c, size_t n, size_t align) {
  const size_t step = align > kUnit ? align / kUnit : 1;
  size_t start = (align_up(c.base, align) - c.base) / kUnit;
  while (start + n <= kUnits) {
    size_t i = 0;
    while (i < n && !test_bit(c.alloc_map, start + i)) ++i;
    if (i == n) return start;
    start += align_up(i + 1, step);
  }
  return kUnits;
}

// Where grown chunks start: after the first chunk, page-aligned so that
// each can be populated by whole pages.
size_t growth_base() { return align_up(percpu_area_size(), kPageSize); }

// Lowest free chunk base for a new chunk (the list is sorted); 0 if the
// unit has no room left.
size_t free_chunk_base() {
  size_t want = growth_base();
  for (Chunk* c = g_first.next; c; c = c->next) {
    if (c->base != want) break;
    want += kChunkSize;
  }
  const size_t unit = arch::percpu_unit_size();
  return want <= unit && kChunkSize <= unit - want ? want : 0;
}

void insert_sorted(Chunk* n) {
  Chunk** pp = &g_first.next;
  while (*pp && (*pp)->base < n->base) pp = &(*pp)->next;
  n->next = *pp;
  *pp = n;
  ++g_nr_chunks;
}

void unlink(Chunk* n) {
  for (Chunk** pp = &g_first.next; *pp; pp = &(*pp)->next)
    if (*pp == n) {
      *pp = n->next;
      --g_nr_chunks;
      return;
    }
}

inline char* template_addr(const Chunk& c, size_t unit) {
  return __percpu_start + c.base + unit * kUnit;
}

// Claims n units at a multiple of align in some populated chunk; the
// template address, or nullptr. Under g_lock.
char* claim(size_t n, size_t align) {
  for (Chunk* c = g_chunks; c; c = c->next) {
    if (!c->populated || kUnits - c->used < n) continue;
    const size_t start = find_free_run(*c, n, align);
    if (start == kUnits) continue;
    for (size_t i = 0; i < n; ++i) set_bit(c->alloc_map, start + i);
    set_bit(c->bound_map, start);
    c->used += n;
    g_used_units += n;
    return template_addr(*c, start);
  }
  return nullptr;
}

// Adds one chunk at the lowest free base: false if the unit is full or
// there is no memory (after a pr_warn).
bool grow(size_t size) {
  auto* n = static_cast<Chunk*>(kzalloc(sizeof(Chunk), GFP_KERNEL | __GFP_NOWARN));
  if (!n) {
    pr_warn("alloc_percpu: no memory for a chunk descriptor\n");
    return false;
  }
  {
    IrqSpinLockGuard g(g_lock);
    n->base = free_chunk_base();
    if (n->base != 0) insert_sorted(n);  // reserves the base; claim() skips it until populated
  }
  if (n->base == 0) {
    pr_warn(
        "alloc_percpu: %zu bytes: every CPU's %zu-byte per-CPU unit is full (%llu bytes used)\n",
        size, arch::percpu_unit_size(), static_cast<unsigned long long>(percpu_dynamic_used()));
    kfree(n);
    return false;
  }
  if (!arch::percpu_populate(n->base, kChunkSize)) {
    {
      IrqSpinLockGuard g(g_lock);
      unlink(n);
    }
    kfree(n);
    return false;
  }
  IrqSpinLockGuard g(g_lock);
  n->populated = true;
  return true;
}

// Grown chunks that are populated and empty, other than `except`.
unsigned empty_chunks_except(const Chunk* except) {
  unsigned n = 0;
  for (Chunk* c = g_first.next; c; c = c->next)
    if (c != except && c->populated && c->used == 0) ++n;
  return n;
}

void release(Chunk* c) {
  arch::percpu_depopulate(c->base, kChunkSize);
  kfree(c);
}

}  // namespace

size_t percpu_dynamic_reserve() { return kReserve; }
size_t percpu_dynamic_offset() {
  return align_up(static_cast<size_t>(__percpu_end - __percpu_start), 64);
}
size_t percpu_area_size() { return percpu_dynamic_offset() + kReserve; }
size_t percpu_chunk_size() { return kChunkSize; }

void percpu_dynamic_init() {
  Chunk* grown;
  {
    IrqSpinLockGuard g(g_lock);
    grown = g_first.next;
    std::memset(&g_first, 0, sizeof g_first);
    g_first.base = percpu_dynamic_offset();
    g_first.populated = true;
    g_chunks = &g_first;
    g_used_units = 0;
    g_nr_chunks = 1;
    g_ready = true;
  }
  // Host tests start over: chunks of the previous round go back.
  while (grown) {
    Chunk* next = grown->next;
    if (grown->populated) release(grown);
    grown = next;
  }
}

bool percpu_dynamic_ready() {
  IrqSpinLockGuard g(g_lock);
  return g_ready;
}

void* __alloc_percpu(size_t size, size_t align) {
  if (align == 0) align = kUnit;
  if (size == 0 || size > kChunkSize || !is_pow2(align) || align > kPageSize) {
    pr_warn("alloc_percpu: bad size %zu or alignment %zu (at most %zu bytes, %zu-byte aligned)\n",
            size, align, kChunkSize, kPageSize);
    return nullptr;
  }
  if (align < kUnit) align = kUnit;
  const size_t n = (size + kUnit - 1) / kUnit;
  char* p = nullptr;
  for (;;) {
    {
      IrqSpinLockGuard g(g_lock);
      if (!g_ready) {
        pr_warn("alloc_percpu: dynamic per-CPU region not set up\n");
        return nullptr;
      }
      p = claim(n, align);
    }
    if (p) break;
    if (!grow(size)) return nullptr;
  }
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu)
    if (arch::CpuBlock* b = arch::cpu_block_of(cpu))
      std::memset(arch::per_cpu_ptr_in(b, p), 0, n * kUnit);
  return p;
}

void free_percpu(void* ptr) {
  if (!ptr) return;
  const size_t off = static_cast<size_t>(static_cast<char*>(ptr) - __percpu_start);
  Chunk* to_release = nullptr;
  {
    IrqSpinLockGuard g(g_lock);
    Chunk* c = g_chunks;
    while (c && !(c->populated && off >= c->base && off - c->base < kChunkSize)) c = c->next;
    const size_t unit = c ? (off - c->base) / kUnit : 0;
    if (!c || (off - c->base) % kUnit || !test_bit(c->bound_map, unit)) {
      pr_err("free_percpu: %p was not returned by alloc_percpu (or is already free); ignored\n",
             ptr);
      return;
    }
    clear_bit(c->bound_map, unit);
    size_t i = unit;
    do {
      clear_bit(c->alloc_map, i);
      ++i;
      --c->used;
      --g_used_units;
    } while (i < kUnits && test_bit(c->alloc_map, i) && !test_bit(c->bound_map, i));
    // An empty grown chunk goes back, unless it is the only empty one: a
    // spare keeps alloc/free at a chunk boundary from mapping and
    // unmapping every time (Linux keeps empty populated pages too).
    if (c != &g_first && c->used == 0 && empty_chunks_except(c) > 0) {
      unlink(c);
      to_release = c;
    }
  }
  if (to_release) release(to_release);
}

void percpu_shrink() {
  for (;;) {
    Chunk* victim = nullptr;
    {
      IrqSpinLockGuard g(g_lock);
      for (Chunk* c = g_first.next; c; c = c->next)
        if (c->populated && c->used == 0) {
          victim = c;
          unlink(c);
          break;
        }
    }
    if (!victim) return;
    release(victim);
  }
}

uint64_t percpu_dynamic_used() {
  IrqSpinLockGuard g(g_lock);
  return g_used_units * kUnit;
}

uint64_t percpu_nr_chunks() {
  IrqSpinLockGuard g(g_lock);
  return g_nr_chunks;
}

}  // namespace k
