// KFENCE: the pool, sampled allocation and free, fault and free-time
// reports (see mm/kfence.h for the design, docs/kfence.md for use).
#include "mm/kfence.h"

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/percpu.h>
#include <arch/pgtable.h>

#include <cstdarg>
#include <cstddef>
#include <cstring>
#include <new>

#include "arch/riscv/kernel/trap.h"
#include "kernel/printk.h"
#include "kernel/shell.h"
#include "kernel/stacktrace.h"
#include "lib/cmdline.h"
#include "lib/format.h"
#include "lib/kallsyms.h"
#include "lib/list.h"
#include "lib/spinlock.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"

namespace k {

// Far enough that a CPU whose countdown holds it never samples.
constexpr int64_t kNeverSample = INT64_MAX;

DEFINE_PER_CPU(int64_t, g_kfence_countdown) = kNeverSample;
uintptr_t g_kfence_pool_start = 0;
uintptr_t g_kfence_pool_size = 0;

namespace {

// Linux CONFIG_KFENCE_NUM_OBJECTS default: 255 objects fill 2 MiB exactly.
constexpr uint64_t kDefaultNumObjects = 255;
// One sample per this many slab allocations per CPU unless the command
// line says otherwise (docs/kfence.md, "Command line", explains the choice).
constexpr uint64_t kDefaultSampleInterval = 4096;
constexpr unsigned kStackDepth = 16;

// Linux KFENCE_CANARY_PATTERN_U8: 0xaa ^ (address & 7), so a shifted copy
// of the pattern does not match.
inline uint8_t canary_byte(uintptr_t a) { return static_cast<uint8_t>(0xaa ^ (a & 7)); }
// The same for a whole aligned word (byte i = 0xaa ^ i, little-endian).
constexpr uint64_t kCanaryWord = 0xadacafaea9a8abaaull;

enum class SlotState : uint8_t { kUnused, kAllocated, kFreed };

struct Track {
  uint64_t stack[kStackDepth];
  unsigned depth = 0;
  unsigned cpu = 0;
};

struct Meta {
  ListNode free_node;  // on g_free_slots while not allocated
  SlotState state = SlotState::kUnused;
  uintptr_t addr = 0;  // object start (allocated or freed)
  size_t size = 0;
  const KmemCache* cache = nullptr;  // identity only: the cache may be gone
  char cache_name[32] = {};          // copied, for reports after destroy
  Track alloc;
  Track free;
};

// Lock rank: outside the page-table lock (set_kernel_page_present takes it
// inside); taken with interrupts off, also by the page-fault handler.
SpinLock g_lock;
Meta* g_meta = nullptr;     // [g_nr_objects]
bool* g_present = nullptr;  // [g_pool_pages]: mirrors each pool page's V bit
ListHead g_free_slots;      // least recently freed first
uint64_t g_nr_objects = 0;
uint64_t g_pool_pages = 0;
std::atomic<uint64_t> g_interval{0};
KfenceSide g_forced_side = KfenceSide::kRandom;
uint64_t g_rng = 0x9e3779b97f4a7c15ull;
KfenceStats g_stats;  // counts under g_lock
std::atomic<uint64_t> g_reports[static_cast<unsigned>(KfenceBug::kCount)];

int64_t countdown_reload() {
  const uint64_t n = g_interval.load(std::memory_order_relaxed);
  return n ? static_cast<int64_t>(n) : kNeverSample;
}

// xorshift64 (Marsaglia 2003): one bit per sample for the side.
bool random_bit() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng & 1;
}

uintptr_t page_addr(uint64_t page) { return g_kfence_pool_start + page * kPageSize; }
uint64_t page_of(uintptr_t a) { return (a - g_kfence_pool_start) / kPageSize; }
// Object k lives on page 2k+1; every other page is a guard.
bool is_object_page(uint64_t page) { return (page & 1) && (page - 1) / 2 < g_nr_objects; }
Meta* slot_of_page(uint64_t page) {
  return is_object_page(page) ? &g_meta[(page - 1) / 2] : nullptr;
}
uint64_t slot_index(const Meta* m) { return static_cast<uint64_t>(m - g_meta); }
uintptr_t slot_page_addr(const Meta* m) { return page_addr(2 * slot_index(m) + 1); }

// g_lock held. Only this hart's TLB is flushed (see arch/pgtable.h).
bool set_present(uint64_t page, bool present) {
  if (!arch::set_kernel_page_present(VirtAddr(page_addr(page)), present).ok()) {
    pr_err("kfence: cannot %s pool page %llu\n", present ? "map" : "unmap",
           static_cast<unsigned long long>(page));
    return false;
  }
  g_present[page] = present;
  return true;
}

// ---- reports ----

const char* const kSkipPrefixes[] = {
    "k::__kfence", "k::kfence_free",      "k::kmalloc",           "k::kzalloc",
    "k::kcalloc",  "k::kmem_cache_alloc", "k::kmem_cache_zalloc", "k::krealloc",
    "k::kfree",    "k::kmem_cache_free",  "k::kvmalloc",          "k::kvzalloc",
    "k::kvfree",
};

// Frames inside the allocator are noise in an allocation or free stack
// (Linux get_stack_skipnr() does the same by name).
unsigned allocator_frames(const uint64_t* stack, unsigned depth) {
  unsigned skip = 0;
  for (; skip < depth; ++skip) {
    Symbol sym;
    if (!kallsyms_lookup(stack[skip] - 1, &sym)) break;
    bool internal = false;
    const std::string_view name(sym.name);
    for (const char* prefix : kSkipPrefixes)
      if (name.starts_with(prefix)) internal = true;
    if (!internal) break;
  }
  return skip < depth ? skip : 0;
}

void print_track(const char* what, const Track& t) {
  const unsigned skip = allocator_frames(t.stack, t.depth);
  pr_err("%s by CPU %u:\n", what, t.cpu);
  stack_trace_print(t.stack + skip, t.depth - skip, false);
}

void print_object(const Meta* m) {
  const unsigned long long i = slot_index(m);
  if (m->state == SlotState::kUnused) {
    pr_err("kfence-#%llu: never allocated\n", i);
    return;
  }
  pr_err("kfence-#%llu: 0x%016llx-0x%016llx, size=%zu, cache=%s\n", i,
         static_cast<unsigned long long>(m->addr),
         static_cast<unsigned long long>(m->addr + m->size - 1), m->size, m->cache_name);
  pr_err("\n");
  print_track("allocated", m->alloc);
  if (m->state == SlotState::kFreed) {
    pr_err("\n");
    print_track("freed", m->free);
  }
}

const char* bug_title(KfenceBug kind) {
  switch (kind) {
    case KfenceBug::kOutOfBounds:
      return "out-of-bounds";
    case KfenceBug::kUseAfterFree:
      return "use-after-free";
    case KfenceBug::kInvalidAccess:
      return "invalid";
    case KfenceBug::kInvalidFree:
      return "invalid free";
    case KfenceBug::kDoubleFree:
      return "double free";
    case KfenceBug::kCorruption:
      return "memory corruption";
    case KfenceBug::kCount:
      break;
  }
  return "?";
}

// Header, the `what` line, the stack of the bad access or free, the object.
// g_lock held.
[[gnu::format(printf, 7, 8)]] void report(KfenceBug kind, const char* access, const uint64_t* stack,
                                          unsigned depth, bool first_is_pc, const Meta* m,
                                          const char* fmt, ...) {
  g_reports[static_cast<unsigned>(kind)].fetch_add(1, std::memory_order_relaxed);
  ++g_stats.bugs[static_cast<unsigned>(kind)];
  ++g_stats.total_bugs;
  const unsigned skip = first_is_pc ? 0 : allocator_frames(stack, depth);
  Symbol sym;
  const uint64_t top = depth > skip ? stack[skip] : 0;
  const bool named = top && kallsyms_lookup(first_is_pc ? top : top - 1, &sym);
  pr_err("==================================================================\n");
  pr_err("BUG: KFENCE: %s%s%s in %s\n", bug_title(kind), access ? " " : "", access ? access : "",
         named ? sym.name : "?");
  pr_err("\n");
  char line[160];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(line, sizeof line, fmt, ap);
  va_end(ap);
  pr_err("%s\n", line);
  stack_trace_print(stack + skip, depth - skip, first_is_pc);
  if (m) {
    pr_err("\n");
    print_object(m);
  }
  pr_err("==================================================================\n");
}

// First changed canary byte of m's page and how many changed; false if
// none. g_lock held, page present.
bool check_canary(const Meta* m, uintptr_t* first_bad, unsigned* nr_bad) {
  const uintptr_t page = slot_page_addr(m);
  *nr_bad = 0;
  auto scan = [&](uintptr_t from, uintptr_t to) {
    for (uintptr_t a = from; a < to;) {
      // Whole words at once where the word is intact (most of the page).
      if (!(a & 7) && a + 8 <= to && *reinterpret_cast<const uint64_t*>(a) == kCanaryWord) {
        a += 8;
        continue;
      }
      if (*reinterpret_cast<const volatile uint8_t*>(a) != canary_byte(a) && !(*nr_bad)++)
        *first_bad = a;
      ++a;
    }
  };
  scan(page, m->addr);
  scan(m->addr + m->size, page + kPageSize);
  return *nr_bad != 0;
}

void report_corruption(const Meta* m, const uint64_t* stack, unsigned depth, uintptr_t bad,
                       unsigned nr_bad) {
  // Linux's format: the bytes from the first bad one, '.' where intact.
  char bytes[16 * 5 + 1];
  size_t o = 0;
  const uintptr_t page_end = slot_page_addr(m) + kPageSize;
  for (uintptr_t a = bad; a < bad + 16 && a < page_end && o + 6 < sizeof bytes; ++a) {
    if (a >= m->addr && a < m->addr + m->size) break;
    const uint8_t v = *reinterpret_cast<const volatile uint8_t*>(a);
    o += snformat(bytes + o, sizeof bytes - o, v == canary_byte(a) ? " ." : " 0x%02x", v);
  }
  bytes[o] = 0;
  report(KfenceBug::kCorruption, nullptr, stack, depth, false, m,
         "Corrupted memory at 0x%016llx [%s ] (%u bytes, in kfence-#%llu):",
         static_cast<unsigned long long>(bad), bytes, nr_bad,
         static_cast<unsigned long long>(slot_index(m)));
}

void save_track(Track* t) {
  t->depth = stack_trace_save(t->stack, kStackDepth, 1);
  t->cpu = arch::this_cpu();
}

void parse_cmdline(std::string_view cmdline, uint64_t* interval, uint64_t* objects) {
  // Benchmarks measure the allocator, not KFENCE: no automatic sampling
  // under bench= unless asked for (then the benchmark measures its cost).
  *interval = cmdline_has(cmdline, "bench") ? 0 : kDefaultSampleInterval;
  *objects = kDefaultNumObjects;
  if (auto v = cmdline_get(cmdline, "kfence.sample_interval")) {
    if (auto n = parse_u64(*v))
      *interval = *n;
    else
      pr_warn("kfence: bad kfence.sample_interval=%.*s; using %llu\n", static_cast<int>(v->size()),
              v->data(), static_cast<unsigned long long>(*interval));
  }
  if (auto v = cmdline_get(cmdline, "kfence.num_objects")) {
    if (auto n = parse_u64(*v))
      *objects = *n;
    else
      pr_warn("kfence: bad kfence.num_objects=%.*s; using %llu\n", static_cast<int>(v->size()),
              v->data(), static_cast<unsigned long long>(*objects));
  }
}

void restart_countdowns() {
  const int64_t reload = countdown_reload();
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu)
    if (arch::cpu_block_of(cpu))
      __atomic_store_n(&per_cpu(g_kfence_countdown, cpu), reload, __ATOMIC_RELAXED);
}

}  // namespace

void kfence_init(std::string_view cmdline) {
  uint64_t interval, objects;
  parse_cmdline(cmdline, &interval, &objects);
  g_interval.store(interval, std::memory_order_relaxed);
  if (objects == 0) {
    pr_info("kfence: disabled (kfence.num_objects=0)\n");
    return;
  }
  // One buddy block holds the pool: 2n+1 pages rounded up to a power of
  // two; the slots that fit in the rounding are used too.
  const uint64_t max_objects = ((uint64_t{1} << MAX_ORDER) - 1) / 2;
  if (objects > max_objects) {
    pr_warn("kfence: kfence.num_objects=%llu above %llu (one buddy block); using %llu\n",
            static_cast<unsigned long long>(objects), static_cast<unsigned long long>(max_objects),
            static_cast<unsigned long long>(max_objects));
    objects = max_objects;
  }
  unsigned order = 0;
  while ((uint64_t{1} << order) < 2 * objects + 1) ++order;
  const uint64_t pages = uint64_t{1} << order;
  objects = (pages - 1) / 2;

  // Metadata straight from the page allocator (like Linux's), so that it
  // shows in no kmalloc statistics: [objects] Meta, then [pages] bool.
  const uint64_t meta_bytes = align_up(objects * sizeof(Meta), 8) + pages;
  unsigned meta_order = 0;
  while ((kPageSize << meta_order) < meta_bytes) ++meta_order;
  Page* pool = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, order);
  Page* meta_pages = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, meta_order);
  if (!pool || !meta_pages) {
    pr_warn("kfence: no memory for a pool of %llu objects; KFENCE off\n",
            static_cast<unsigned long long>(objects));
    if (pool) __free_pages(pool, order);
    if (meta_pages) __free_pages(meta_pages, meta_order);
    return;
  }
  auto* meta = static_cast<Meta*>(page_address(meta_pages));
  auto* present =
      reinterpret_cast<bool*>(reinterpret_cast<char*>(meta) + align_up(objects * sizeof(Meta), 8));
  for (uint64_t i = 0; i < objects; ++i) new (&meta[i]) Meta();
  g_free_slots.init();
  g_meta = meta;
  g_present = present;
  g_nr_objects = objects;
  g_pool_pages = pages;
  g_kfence_pool_start = reinterpret_cast<uintptr_t>(page_address(pool));
  // Every page starts absent: guards for good, object pages until used.
  // The first page of each 2 MiB splits the linear-map leaf there.
  bool ok = true;
  uint64_t done = 0;
  {
    IrqSpinLockGuard g(g_lock);
    for (; done < pages && ok; ++done) ok = set_present(done, false);
  }
  if (!ok) {
    // Still one hart (kfence_init runs before the others start): the
    // local flushes in set_kernel_page_present are enough.
    for (uint64_t p = 0; p < done; ++p)
      (void)arch::set_kernel_page_present(VirtAddr(page_addr(p)), true);
    g_kfence_pool_start = 0;
    g_meta = nullptr;
    g_present = nullptr;
    g_nr_objects = g_pool_pages = 0;
    __free_pages(pool, order);
    __free_pages(meta_pages, meta_order);
    pr_warn("kfence: cannot unmap the pool pages; KFENCE off\n");
    return;
  }
  for (uint64_t i = 0; i < objects; ++i) g_free_slots.push_back(&meta[i].free_node);
  g_rng ^= arch::read_cycle() | 1;
  g_stats.num_objects = objects;
  g_stats.pool_pages = pages;
  g_stats.meta_pages = uint64_t{1} << meta_order;
  g_stats.free_slots = objects;
  // Publish last: from here on kfree and the fault handler know the pool.
  __atomic_store_n(&g_kfence_pool_size, pages * kPageSize, __ATOMIC_RELEASE);
  restart_countdowns();
  pr_info("kfence: %llu objects in a %llu KiB pool at 0x%016llx, sample interval %llu%s\n",
          static_cast<unsigned long long>(objects),
          static_cast<unsigned long long>(pages * kPageSize / 1024),
          static_cast<unsigned long long>(g_kfence_pool_start),
          static_cast<unsigned long long>(interval), interval ? "" : " (sampling off)");
}

void* __kfence_alloc(KmemCache* s, size_t size, gfp_t gfp) {
  __atomic_store_n(this_cpu_ptr(&g_kfence_countdown), countdown_reload(), __ATOMIC_RELAXED);
  if (!g_kfence_pool_size || !s) return nullptr;
  Track track;
  save_track(&track);
  Meta* m;
  uintptr_t addr;
  {
    IrqSpinLockGuard g(g_lock);
    const KfenceSide forced = g_forced_side;
    g_forced_side = KfenceSide::kRandom;
    // Linux skips the DMA zones (the pool is ZONE_NORMAL memory) and
    // objects that do not fit a page.
    if (size == 0 || size > kPageSize || s->align > kPageSize ||
        (gfp & (__GFP_DMA | __GFP_DMA32)) || (s->flags & (SLAB_CACHE_DMA | SLAB_CACHE_DMA32))) {
      ++g_stats.skipped_unsuited;
      return nullptr;
    }
    ListNode* n = g_free_slots.pop_front();
    if (!n) {
      ++g_stats.skipped_full;
      return nullptr;
    }
    m = reinterpret_cast<Meta*>(reinterpret_cast<char*>(n) - offsetof(Meta, free_node));
    const uint64_t page = 2 * slot_index(m) + 1;
    const bool right = forced == KfenceSide::kRandom ? random_bit() : forced == KfenceSide::kRight;
    const uintptr_t base = page_addr(page);
    const uintptr_t align = s->align ? s->align : kSlabMinAlign;
    addr = right ? (base + kPageSize - size) & ~(align - 1) : base;
    // A guard opened by an earlier report closes again.
    for (uint64_t guard : {page - 1, page + 1})
      if (guard < g_pool_pages && g_present[guard]) set_present(guard, false);
    if (!g_present[page] && !set_present(page, true)) {
      g_free_slots.push_front(n);
      return nullptr;
    }
    for (uintptr_t w = base; w < base + kPageSize; w += 8)
      *reinterpret_cast<uint64_t*>(w) = kCanaryWord;
    m->state = SlotState::kAllocated;
    m->addr = addr;
    m->size = size;
    m->cache = s;
    std::memcpy(m->cache_name, s->name, sizeof m->cache_name);
    m->cache_name[sizeof m->cache_name - 1] = 0;
    m->alloc = track;
    m->free.depth = 0;
    ++g_stats.allocated;
    ++g_stats.total_allocs;
    --g_stats.free_slots;
  }
  // Outside the lock: a constructor may allocate.
  if (gfp & __GFP_ZERO) std::memset(reinterpret_cast<void*>(addr), 0, size);
  if (s->ctor) s->ctor(reinterpret_cast<void*>(addr));
  return reinterpret_cast<void*>(addr);
}

void kfence_free(const void* p, const KmemCache* s) {
  if (!is_kfence_address(p)) return;
  const auto a = reinterpret_cast<uintptr_t>(p);
  Track track;
  save_track(&track);
  IrqSpinLockGuard g(g_lock);
  Meta* m = slot_of_page(page_of(a));
  if (!m || m->state != SlotState::kAllocated || a != m->addr) {
    if (m && m->state == SlotState::kFreed && a == m->addr)
      report(KfenceBug::kDoubleFree, nullptr, track.stack, track.depth, false, m,
             "Double free of 0x%016llx (kfence-#%llu); free refused:",
             static_cast<unsigned long long>(a), static_cast<unsigned long long>(slot_index(m)));
    else
      report(KfenceBug::kInvalidFree, nullptr, track.stack, track.depth, false, m,
             "Invalid free of 0x%016llx (%s); free refused:", static_cast<unsigned long long>(a),
             m ? "not the start of a live KFENCE object" : "a KFENCE guard page");
    return;
  }
  if (s && s != m->cache) {
    report(KfenceBug::kInvalidFree, nullptr, track.stack, track.depth, false, m,
           "Invalid free of 0x%016llx to cache %s (kfence-#%llu); free refused:",
           static_cast<unsigned long long>(a), s->name,
           static_cast<unsigned long long>(slot_index(m)));
    return;
  }
  uintptr_t bad = 0;
  unsigned nr_bad = 0;
  if (check_canary(m, &bad, &nr_bad)) report_corruption(m, track.stack, track.depth, bad, nr_bad);
  m->state = SlotState::kFreed;
  m->free = track;
  set_present(2 * slot_index(m) + 1, false);
  g_free_slots.push_back(&m->free_node);
  --g_stats.allocated;
  ++g_stats.total_frees;
  ++g_stats.free_slots;
}

namespace {
// The slab serves an allocation the pool did not take; that allocation
// does not count towards the next sample (and cannot recurse here).
void* slab_fallback(KmemCache* s, gfp_t gfp, int nid) {
  int64_t* c = this_cpu_ptr(&g_kfence_countdown);
  if (*c < kNeverSample) ++*c;
  return kmem_cache_alloc_node(s, gfp, nid);
}
}  // namespace

void* kfence_alloc_node(KmemCache* s, gfp_t gfp, int nid) {
  if (void* p = __kfence_alloc(s, s->object_size, gfp)) return p;
  return slab_fallback(s, gfp, nid);
}

void* kfence_kmalloc_node(KmemCache* s, size_t size, gfp_t gfp, int nid) {
  if (void* p = __kfence_alloc(s, size, gfp)) return p;
  return slab_fallback(s, gfp, nid);
}

size_t kfence_ksize(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  IrqSpinLockGuard g(g_lock);
  const Meta* m = slot_of_page(page_of(a));
  return m && m->state == SlotState::kAllocated && m->addr == a ? m->size : 0;
}

uint64_t kfence_cache_objects(const KmemCache* s) {
  if (!g_kfence_pool_size) return 0;
  IrqSpinLockGuard g(g_lock);
  uint64_t n = 0;
  for (uint64_t i = 0; i < g_nr_objects; ++i)
    if (g_meta[i].state == SlotState::kAllocated && g_meta[i].cache == s) ++n;
  return n;
}

bool kfence_handle_fault(uint64_t addr, bool is_write, const arch::TrapFrame& regs) {
  if (!is_kfence_address(reinterpret_cast<const void*>(addr))) return false;
  uint64_t stack[kStackDepth];
  const unsigned depth = stack_trace_save_from(regs.sepc, regs.fp(), stack, kStackDepth);
  const char* access = is_write ? "write" : "read";
  const auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  IrqSpinLockGuard g(g_lock);
  const uint64_t page = page_of(addr);
  if (g_present[page]) {
    // Present already: this hart had a stale entry (pages are switched
    // with local flushes only); setting it again flushes it here.
    set_present(page, true);
    return true;
  }
  if (Meta* m = slot_of_page(page)) {
    if (m->state == SlotState::kFreed)
      report(KfenceBug::kUseAfterFree, access, stack, depth, true, m,
             "Use-after-free %s at 0x%016llx (in kfence-#%llu):", access, ull(addr),
             ull(slot_index(m)));
    else
      report(KfenceBug::kInvalidAccess, access, stack, depth, true, m,
             "Invalid %s at 0x%016llx (in kfence-#%llu):", access, ull(addr), ull(slot_index(m)));
  } else {
    // A guard page: blame the nearer neighbour, live ones first (Linux
    // kfence_handle_page_fault()).
    Meta* left = page > 0 ? slot_of_page(page - 1) : nullptr;
    Meta* right = slot_of_page(page + 1);
    auto used = [](const Meta* x) { return x && x->state != SlotState::kUnused; };
    auto live = [](const Meta* x) { return x && x->state == SlotState::kAllocated; };
    if (live(left) != live(right)) {
      if (!live(left)) left = nullptr;
      if (!live(right)) right = nullptr;
    }
    if (!used(left)) left = nullptr;
    if (!used(right)) right = nullptr;
    if (left && right) {
      if (addr - (left->addr + left->size) <= right->addr - addr)
        right = nullptr;
      else
        left = nullptr;
    }
    if (left)
      report(KfenceBug::kOutOfBounds, access, stack, depth, true, left,
             "Out-of-bounds %s at 0x%016llx (%lluB right of kfence-#%llu):", access, ull(addr),
             ull(addr - (left->addr + left->size) + 1), ull(slot_index(left)));
    else if (right)
      report(KfenceBug::kOutOfBounds, access, stack, depth, true, right,
             "Out-of-bounds %s at 0x%016llx (%lluB left of kfence-#%llu):", access, ull(addr),
             ull(right->addr - addr), ull(slot_index(right)));
    else
      report(KfenceBug::kOutOfBounds, access, stack, depth, true, nullptr,
             "Out-of-bounds %s at 0x%016llx (guard page, no object next to it):", access,
             ull(addr));
  }
  // Like Linux: the page becomes accessible and the kernel carries on.
  // Guards close again when a neighbour is allocated; a freed object's
  // page closes again when its slot is reused and freed.
  set_present(page, true);
  return true;
}

KfenceStats kfence_stats() {
  IrqSpinLockGuard g(g_lock);
  KfenceStats st = g_stats;
  st.sample_interval = g_interval.load(std::memory_order_relaxed);
  return st;
}

uint64_t kfence_nr_reports() {
  uint64_t n = 0;
  for (const auto& r : g_reports) n += r.load(std::memory_order_relaxed);
  return n;
}

uint64_t kfence_nr_reports(KfenceBug kind) {
  const auto i = static_cast<unsigned>(kind);
  return i < static_cast<unsigned>(KfenceBug::kCount) ? g_reports[i].load(std::memory_order_relaxed)
                                                      : 0;
}

void kfence_show_stats() {
  const KfenceStats st = kfence_stats();
  const auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (!st.num_objects) {
    pr_info("kfence: no pool (disabled or out of memory at boot)\n");
    return;
  }
  pr_info("enabled: %s (sample interval %llu allocations per CPU)\n",
          st.sample_interval ? "yes" : "no", ull(st.sample_interval));
  pr_info("pool: %llu objects, %llu pages at 0x%016llx\n", ull(st.num_objects), ull(st.pool_pages),
          ull(g_kfence_pool_start));
  pr_info("currently allocated: %llu\n", ull(st.allocated));
  pr_info("free slots: %llu\n", ull(st.free_slots));
  pr_info("total allocations: %llu\n", ull(st.total_allocs));
  pr_info("total frees: %llu\n", ull(st.total_frees));
  pr_info("skipped allocations (pool full): %llu\n", ull(st.skipped_full));
  pr_info("skipped allocations (unsuited): %llu\n", ull(st.skipped_unsuited));
  pr_info("total bugs: %llu\n", ull(st.total_bugs));
  for (unsigned i = 0; i < static_cast<unsigned>(KfenceBug::kCount); ++i)
    pr_info("  %s: %llu\n", bug_title(static_cast<KfenceBug>(i)), ull(st.bugs[i]));
}

void kfence_force_next_sample(KfenceSide side) {
  {
    IrqSpinLockGuard g(g_lock);
    g_forced_side = side;
  }
  __atomic_store_n(this_cpu_ptr(&g_kfence_countdown), int64_t{1}, __ATOMIC_RELAXED);
}

void kfence_set_sample_interval(uint64_t interval) {
  g_interval.store(interval, std::memory_order_relaxed);
  restart_countdowns();
}

}  // namespace k

SHELL_COMMAND(kfence, "KFENCE pool statistics: objects, allocations, frees, bugs found") {
  k::kfence_show_stats();
  return 0;
}
