// Slab caches: creation and layout, the per-CPU fast paths, the node
// lists, shrink and destroy (see mm/slab.h for the design, mm/slab_internal.h
// for the structures and lock ranks).
#include "mm/slab.h"

#include <arch/cpu.h>
#include <arch/memory.h>

#include <atomic>
#include <cstring>
#include <new>

#include "kernel/panic.h"
#include "kernel/printk.h"
#include "lib/cmdline.h"
#include "mm/accounting.h"
#include "mm/fault_inject.h"
#include "mm/kfence.h"
#include "mm/kmalloc.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"
#include "mm/slab_internal.h"

namespace k {

SpinLock g_slab_lock;
ListHead g_slab_caches;
LinearPageIndex g_linear_pages;

bool linear_page_index_init() {
  g_linear_pages = LinearPageIndex{};
  const uint64_t ram_base = arch::g_layout.phys_ram_base;
  const uint64_t ram_end = g_page_map.max_pfn << kPageShift;
  if (ram_end <= ram_base) return false;
  // Granules never straddle a page-map section: at most a section, and no
  // larger than the alignment of the RAM base.
  unsigned shift = kSectionShift;
  if (ram_base && static_cast<unsigned>(__builtin_ctzll(ram_base)) < shift)
    shift = static_cast<unsigned>(__builtin_ctzll(ram_base));
  if (shift < kPageShift) return false;
  uint64_t span = ram_end - ram_base;
  if (span > arch::g_layout.linear_size) span = arch::g_layout.linear_size;
  const uint64_t n = (span + (uint64_t{1} << shift) - 1) >> shift;
  unsigned order = 0;
  while ((kPageSize << order) < n * sizeof(LinearPageRange)) ++order;
  if (order > MAX_ORDER) return false;
  void* mem = __get_free_pages(GFP_KERNEL | __GFP_NOWARN, order);
  if (!mem) return false;
  auto* ranges = static_cast<LinearPageRange*>(mem);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t first_pfn = (ram_base + (i << shift)) >> kPageShift;
    const MemSection* ms = pfn_section(first_pfn);
    // The section holding this granule (the granule's first page may be a
    // hole below the section's first struct page).
    if (!ms) {
      const uint64_t sec = (first_pfn >> kPfnSectionShift) - g_page_map.first_section;
      ms = sec < g_page_map.nr_sections && g_page_map.sections[sec].map_base
               ? &g_page_map.sections[sec]
               : nullptr;
    }
    LinearPageRange r{};
    if (ms) {
      const uint64_t g_lo = i << shift, g_hi = g_lo + (uint64_t{1} << shift);
      uint64_t lo = (ms->start_pfn << kPageShift) - ram_base;
      uint64_t hi = (ms->end_pfn << kPageShift) - ram_base;
      if (ms->start_pfn << kPageShift < ram_base) lo = 0;
      if (lo < g_lo) lo = g_lo;
      if (hi > g_hi) hi = g_hi;
      if (lo < hi) {
        r.page0 = ms->map_base + (ram_base >> kPageShift) * sizeof(Page);
        r.lo = lo;
        r.len = hi - lo;
      }
    }
    ranges[i] = r;
  }
  g_linear_pages.linear_base = arch::g_layout.linear_base;
  g_linear_pages.shift = shift;
  g_linear_pages.ranges = ranges;
  g_linear_pages.span = span;
  return true;
}

namespace {

bool g_slab_up = false;

// Freelist hardening (slab_harden=, default on) and the state the
// per-cache secrets are drawn from: a splitmix64 sequence (Steele et al.
// 2014) over a seed mixed from the time and cycle CSRs and any seed the
// boot loader passed in /chosen (slab_add_randomness). Not a CSPRNG; the
// secret only has to be unknown to whoever overwrites a free object.
bool g_slab_harden = true;
std::atomic<uint64_t> g_random_state{0};
uint64_t g_random_seed = 0;

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
int g_nr_node_ids = 1;

// Descriptors of the boot caches (kmalloc) come from whole pages carved by
// a bump pointer: kmalloc cannot allocate its own caches' descriptors, and
// those caches live forever (Linux bootstraps the same way, then copies).
char* g_boot_cur = nullptr;
size_t g_boot_left = 0;

void* boot_desc_alloc(size_t bytes) {
  bytes = align_up(bytes, kCacheLineSize);
  if (bytes > g_boot_left) {
    unsigned order = 2;
    while ((kPageSize << order) < bytes) ++order;
    void* p = __get_free_pages(GFP_KERNEL | __GFP_ZERO, order);
    if (!p) return nullptr;
    g_boot_cur = static_cast<char*>(p);
    g_boot_left = kPageSize << order;
  }
  void* p = g_boot_cur;
  g_boot_cur += bytes;
  g_boot_left -= bytes;
  return p;
}

constexpr gfp_t kGfpZoneMask = __GFP_DMA | __GFP_DMA32;
// Caller bits that do not pass on to the slab's page allocation.
constexpr gfp_t kGfpNotForPages = kGfpZoneMask | __GFP_ZERO | __GFP_COMP;
constexpr slab_flags_t kValidFlags = SLAB_DEBUG_FLAGS | SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA |
                                     SLAB_CACHE_DMA32 | SLAB_PANIC | SLAB_NO_DEBUG;
// Linux PAGE_ALLOC_COSTLY_ORDER: slabs prefer orders up to this.
constexpr unsigned kMaxPreferredOrder = 3;

// Linux SLUB calculate_alignment(): small objects share cache lines
// without straddling them.
size_t calculate_alignment(slab_flags_t flags, size_t align, size_t size) {
  if (flags & SLAB_HWCACHE_ALIGN) {
    size_t ralign = kCacheLineSize;
    while (size <= ralign / 2) ralign /= 2;
    if (ralign > align) align = ralign;
  }
  return align < kSlabMinAlign ? kSlabMinAlign : align;
}

// The slot layout of mm/slab_internal.h.
void calculate_sizes(KmemCache* s) {
  const uint64_t inuse = align_up(s->object_size, 8);
  s->red_left_pad = s->red_zone() ? static_cast<uint32_t>(align_up(sizeof(void*), s->align)) : 0;
  const uint64_t rz_end = s->red_zone() ? inuse + sizeof(void*) : inuse;
  uint64_t meta_end;
  if (s->poison() || s->ctor || s->red_zone()) {
    s->offset = static_cast<uint32_t>(rz_end);
    meta_end = rz_end + sizeof(void*);
  } else {
    s->offset = static_cast<uint32_t>(align_down(s->object_size / 2, 8));
    meta_end = inuse;
  }
  s->rz_end = static_cast<uint32_t>(rz_end);
  s->size = static_cast<uint32_t>(align_up(s->red_left_pad + meta_end, s->align));
}

bool order_fits(uint64_t stride, unsigned order, unsigned min_objects, unsigned fraction) {
  const uint64_t slab = kPageSize << order;
  if (slab < stride || slab / stride < min_objects) return false;
  return slab % stride <= slab / fraction;
}

// Linux SLUB calculate_order(): the smallest order up to the costly order
// that holds enough objects with little waste, relaxing both; objects too
// big for that get the smallest order that holds one.
int calculate_order(uint64_t stride) {
  for (unsigned min_objects = 8; min_objects; min_objects /= 2)
    for (unsigned fraction : {16u, 8u, 4u})
      for (unsigned order = 0; order <= kMaxPreferredOrder; ++order)
        if (order_fits(stride, order, min_objects, fraction)) return static_cast<int>(order);
  for (unsigned order = 0; order <= MAX_ORDER; ++order)
    if ((kPageSize << order) >= stride) return static_cast<int>(order);
  return -1;
}

// Per-CPU array size by object size (Linux SLAB enable_cpucache()).
uint32_t cpu_array_limit(uint64_t stride) {
  if (stride > 131072) return 1;
  if (stride > kPageSize) return 8;
  if (stride > 1024) return 24;
  if (stride > 256) return 54;
  return 120;
}

// Each CPU array has one extra slot in front, always nullptr, so that the
// free fast path's double-free check may read entry[avail - 1] when the
// array is empty.
uint64_t array_slots(uint32_t limit) { return limit ? limit + 1 : 0; }

size_t descriptor_size(uint32_t limit, unsigned nr_cpus, unsigned nr_nodes) {
  return align_up(sizeof(KmemCache), kCacheLineSize) + nr_cpus * sizeof(KmemCacheCpu) +
         align_up(nr_cpus * array_slots(limit) * sizeof(void*), kCacheLineSize) +
         nr_nodes * sizeof(KmemCacheNode);
}

// Places the descriptor, the CPU arrays and the nodes in one block.
KmemCache* construct_cache(void* mem, uint32_t limit, unsigned nr_cpus, unsigned nr_nodes) {
  char* p = static_cast<char*>(mem);
  auto* s = new (p) KmemCache();
  p += align_up(sizeof(KmemCache), kCacheLineSize);
  s->cpu = reinterpret_cast<KmemCacheCpu*>(p);
  for (unsigned i = 0; i < nr_cpus; ++i) new (&s->cpu[i]) KmemCacheCpu();
  p += nr_cpus * sizeof(KmemCacheCpu);
  for (unsigned i = 0; i < nr_cpus; ++i) {
    KmemCacheCpu& c = s->cpu[i];
    c.entry = reinterpret_cast<void**>(p) + i * array_slots(limit) + 1;
    if (limit) c.entry[-1] = nullptr;
    c.limit = limit;
    c.node = cpu_to_node(i);
  }
  p += align_up(nr_cpus * array_slots(limit) * sizeof(void*), kCacheLineSize);
  s->node = reinterpret_cast<KmemCacheNode*>(p);
  for (unsigned i = 0; i < nr_nodes; ++i) new (&s->node[i]) KmemCacheNode();
  s->nr_cpus = nr_cpus;
  s->nr_nodes = nr_nodes;
  s->limit = limit;
  s->nr_fast_cpus = limit ? nr_cpus : 0;
  return s;
}

KmemCache* create_cache(const char* name, size_t size, size_t align, slab_flags_t flags,
                        void (*ctor)(void*), bool boot) {
  const char* why = nullptr;
  if (!g_slab_up)
    why = "slab allocator not initialised";
  else if (!name || !*name)
    why = "no name";
  else if (size == 0 || size > (kPageSize << MAX_ORDER))
    why = "bad object size";
  else if (align && !is_pow2(align))
    why = "alignment not a power of two";
  else if (align > (kPageSize << MAX_ORDER))
    why = "alignment too large";
  else if (flags & ~kValidFlags)
    why = "unknown flags";
  else if ((flags & SLAB_CACHE_DMA) && (flags & SLAB_CACHE_DMA32))
    why = "both DMA and DMA32";
  if (why) {
    if (flags & SLAB_PANIC) panic("kmem_cache_create(%s): %s", name ? name : "(null)", why);
    pr_err("kmem_cache_create(%s, %zu, %zu): %s\n", name ? name : "(null)", size, align, why);
    return nullptr;
  }
  if (!(flags & SLAB_NO_DEBUG)) flags |= slab_debug_flags_for(name);

  KmemCache tmp;
  tmp.object_size = static_cast<uint32_t>(size);
  tmp.flags = flags;
  tmp.ctor = ctor;
  tmp.align = static_cast<uint32_t>(calculate_alignment(flags, align, size));
  calculate_sizes(&tmp);
  const int order = calculate_order(tmp.size);
  // struct page keeps the object count in 16 bits; only tiny objects in
  // huge slabs could exceed it, and calculate_order never picks those.
  if (order >= 0 && (kPageSize << order) / tmp.size > 0xffff) {
    if (flags & SLAB_PANIC) panic("kmem_cache_create(%s): too many objects per slab", name);
    pr_err("kmem_cache_create(%s): too many objects per slab\n", name);
    return nullptr;
  }
  if (order < 0) {
    if (flags & SLAB_PANIC)
      panic("kmem_cache_create(%s): object of %zu bytes too large", name, size);
    pr_err("kmem_cache_create(%s): %u-byte slots do not fit a slab\n", name, tmp.size);
    return nullptr;
  }
  const uint32_t limit = tmp.debug() ? 0 : cpu_array_limit(tmp.size);
  const unsigned nr_cpus = arch::nr_cpus();
  const size_t dsize = descriptor_size(limit, nr_cpus, static_cast<unsigned>(g_nr_node_ids));
  void* mem = boot ? boot_desc_alloc(dsize) : kzalloc(dsize, GFP_KERNEL);
  if (!mem) {
    if (flags & SLAB_PANIC) panic("kmem_cache_create(%s): no memory for the descriptor", name);
    pr_err("kmem_cache_create(%s): no memory for the descriptor\n", name);
    return nullptr;
  }
  KmemCache* s = construct_cache(mem, limit, nr_cpus, static_cast<unsigned>(g_nr_node_ids));
  size_t n = 0;
  for (; name[n] && n + 1 < sizeof s->name; ++n) s->name[n] = name[n];
  s->name[n] = 0;
  s->object_size = tmp.object_size;
  s->size = tmp.size;
  s->align = tmp.align;
  s->red_left_pad = tmp.red_left_pad;
  s->rz_end = tmp.rz_end;
  s->offset = tmp.offset;
  s->flags = flags;
  s->ctor = ctor;
  s->order = static_cast<unsigned>(order);
  s->objects = static_cast<unsigned>(s->slab_bytes() / s->size);
  s->span = s->objects * s->size;
  s->random = slab_new_random();
  s->allocflags = (s->order ? __GFP_COMP : 0) | ((flags & SLAB_CACHE_DMA) ? __GFP_DMA : 0) |
                  ((flags & SLAB_CACHE_DMA32) ? __GFP_DMA32 : 0);
  // Colouring (Bonwick 1994; Linux SLAB): the slack at the end of a slab
  // shifts successive slabs' objects by a cache line so that equal object
  // offsets in different slabs do not all map to the same cache sets.
  s->colour_off = static_cast<uint32_t>(s->align > kCacheLineSize ? s->align : kCacheLineSize);
  s->colour =
      static_cast<uint32_t>((s->slab_bytes() - uint64_t{s->objects} * s->size) / s->colour_off) + 1;
  s->batch = (limit + 1) / 2;
  s->max_empty = 2;
  s->boot = boot;
  {
    IrqSpinLockGuard g(g_slab_lock);
    g_slab_caches.push_back(&s->list);
  }
  return s;
}

enum SlabState { kEmpty, kPartial, kFull };

// Full: nothing left to hand out (dropped objects are gone for good).
inline SlabState slab_state(const Page* slab) {
  const auto& m = slab->slab;
  return m.inuse == 0 ? kEmpty : m.inuse + m.dropped == m.objects ? kFull : kPartial;
}

void list_add_state(KmemCacheNode* n, Page* slab, SlabState st) {
  switch (st) {
    case kEmpty:
      n->empty.push_front(&slab->lru);
      ++n->nr_empty;
      break;
    case kPartial:
      n->partial.push_front(&slab->lru);
      ++n->nr_partial;
      break;
    case kFull:
      n->full.push_front(&slab->lru);
      ++n->nr_full;
      break;
  }
}

void list_del_state(KmemCacheNode* n, Page* slab, SlabState st) {
  slab->lru.unlink();
  switch (st) {
    case kEmpty:
      --n->nr_empty;
      break;
    case kPartial:
      --n->nr_partial;
      break;
    case kFull:
      --n->nr_full;
      break;
  }
}

// After the slab's counters changed from state `before`: move it to the
// list of its new state.
void relist(KmemCacheNode* n, Page* slab, SlabState before) {
  const SlabState after = slab_state(slab);
  if (before == after) return;
  list_del_state(n, slab, before);
  list_add_state(n, slab, after);
}

[[gnu::cold]] void report_corrupt_freelist(const KmemCache* s, const Page* slab, void* obj,
                                           void* next, unsigned dropped) {
  slab_report(s, "Freepointer corrupt",
              "free object %p of slab %p points to %p, outside the slab's objects; the rest of "
              "the slab's freelist (%u objects) is dropped\n",
              obj, slab_base(slab), next, dropped);
}

[[gnu::cold]] void report_double_free(const KmemCache* s, const Page* slab, const void* obj) {
  slab_report(s, "Object already free", "double free of object %p (slab %p); free refused\n", obj,
              slab_base(slab));
}

// node->list_lock held for the next two; callers relist the slab.
// Takes the slab's first free object. The next pointer is decoded and,
// when hardened (or debugging), validated: a pointer that is not an object
// of this slab (overflow, use-after-free write) is reported and the rest of
// the freelist dropped instead of followed.
inline void* slab_take(const KmemCache* s, KmemCacheNode* n, Page* slab) {
  void* obj = slab->slab.freelist;
  void* next = get_freepointer(s, obj);
  ++slab->slab.inuse;
  ++n->inuse_objects;
  if (next && (s->random || s->debug()) && !slab_valid_object(s, slab, next)) [[unlikely]] {
    slab->slab.dropped = static_cast<uint16_t>(slab->slab.objects - slab->slab.inuse);
    report_corrupt_freelist(s, slab, obj, next, slab->slab.dropped);
    next = nullptr;
  }
  slab->slab.freelist = next;
  return obj;
}

// Puts obj back on its slab's freelist. Refuses (false, after a report)
// the naive double free that needs no debugging to see: obj is already
// the freelist head, or nothing of the slab is in use.
inline bool slab_put(const KmemCache* s, KmemCacheNode* n, Page* slab, void* obj) {
  if (slab->slab.freelist == obj || slab->slab.inuse == 0) [[unlikely]] {
    report_double_free(s, slab, obj);
    return false;
  }
  set_freepointer(s, obj, slab->slab.freelist);
  slab->slab.freelist = obj;
  --slab->slab.inuse;
  --n->inuse_objects;
  return true;
}

// A new slab of 2^order pages, objects constructed and linked, on no list.
Page* new_slab(KmemCache* s, gfp_t gfp, int nid) {
  Page* slab = alloc_pages_node(nid, (gfp & ~kGfpNotForPages) | s->allocflags, s->order);
  if (!slab) return nullptr;
  account_pages(MM_SLAB, slab, s->order, +1);  // mm/accounting.h
  const uint32_t colour =
      s->colour > 1 ? s->colour_next.fetch_add(1, std::memory_order_relaxed) % s->colour : 0;
  slab->private_data = reinterpret_cast<uintptr_t>(slab_base(slab)) +
                       uint64_t{colour} * s->colour_off + s->red_left_pad;
  slab->slab.slab_cache = s;
  slab->slab.inuse = 0;
  slab->slab.objects = static_cast<uint16_t>(s->objects);
  slab->slab.dropped = 0;
  if (s->poison()) init_slab_padding(s, slab);
  void* next = nullptr;
  if (!s->debug() && !s->ctor) {
    // The common case, with the cache's fields in registers: link every
    // object, last first, so the freelist runs in address order.
    const uint64_t random = s->random, size = s->size, offset = s->offset;
    char* obj = slab_first_object(slab) + (s->objects - 1) * size;
    for (unsigned i = s->objects; i-- > 0; obj -= size) {
      auto* where = reinterpret_cast<uint64_t*>(obj + offset);
      *where = freeptr_encode(random, where, reinterpret_cast<uintptr_t>(next));
      next = obj;
    }
  } else {
    for (unsigned i = s->objects; i-- > 0;) {
      void* obj = object_at(s, slab, i);
      if (s->debug()) init_object_debug(s, obj, false);
      if (s->ctor) s->ctor(obj);
      set_freepointer(s, obj, next);
      next = obj;
    }
  }
  slab->slab.freelist = next;
  slab->set(PageFlag::kSlab);
  return slab;
}

void discard_slab(KmemCache* s, Page* slab) {
  if (s->poison()) check_slab_padding(s, slab);
  slab->clear(PageFlag::kSlab);
  slab->slab.freelist = nullptr;
  slab->slab.slab_cache = nullptr;
  slab->slab.inuse = 0;
  slab->slab.objects = 0;
  slab->slab.dropped = 0;
  slab->private_data = 0;
  account_pages(MM_SLAB, slab, s->order, -1);  // mm/accounting.h
  __free_pages(slab, s->order);
}

void discard_list(KmemCache* s, ListHead& l) {
  while (ListNode* ln = l.pop_front()) discard_slab(s, page_from_lru(ln));
}

// Keeps at most max_empty empty slabs on n; the rest go to `out`.
void trim_empty(const KmemCache* s, KmemCacheNode* n, ListHead& out) {
  while (n->nr_empty > s->max_empty) {
    Page* slab = page_from_lru(n->empty.last());
    list_del_state(n, slab, kEmpty);
    n->total_objects -= slab->slab.objects;
    out.push_back(&slab->lru);
  }
}

void add_new_slab(KmemCacheNode* n, Page* slab) {
  list_add_state(n, slab, kEmpty);
  n->total_objects += slab->slab.objects;
}

// Moves entry[0 .. count) of c back to their slabs (c->lock held).
void flush_array(KmemCache* s, KmemCacheCpu* c, uint32_t count) {
  ListHead to_free;
  KmemCacheNode* locked = nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    void* obj = c->entry[i];
    Page* slab = obj_to_slab(obj);
    KmemCacheNode* n = get_node(s, slab->nid);
    if (n != locked) {
      if (locked) {
        trim_empty(s, locked, to_free);
        locked->list_lock.unlock();
      }
      n->list_lock.lock();
      locked = n;
    }
    const SlabState before = slab_state(slab);
    if (slab_put(s, n, slab, obj)) relist(n, slab, before);
  }
  if (locked) {
    trim_empty(s, locked, to_free);
    locked->list_lock.unlock();
  }
  c->avail -= count;
  std::memmove(c->entry, c->entry + count, c->avail * sizeof(void*));
  discard_list(s, to_free);
}

// Takes up to `want` objects from n's partial, then empty slabs into c.
void take_batch(const KmemCache* s, KmemCacheNode* n, KmemCacheCpu* c, uint32_t want) {
  while (c->avail < want) {
    ListNode* ln = n->partial.first();
    if (!ln) ln = n->empty.first();
    if (!ln) return;
    Page* slab = page_from_lru(ln);
    const SlabState before = slab_state(slab);
    while (slab->slab.freelist && c->avail < want) c->entry[c->avail++] = slab_take(s, n, slab);
    relist(n, slab, before);
  }
}

// Slow path of the per-CPU allocation: refills c and returns one object.
void* refill_array(KmemCache* s, KmemCacheCpu* c, gfp_t gfp, int nid) {
  KmemCacheNode* n = get_node(s, nid);
  n->list_lock.lock();
  take_batch(s, n, c, s->batch);
  n->list_lock.unlock();
  if (!c->avail) {
    Page* slab = new_slab(s, gfp, nid);
    if (!slab) return nullptr;
    // The page allocator may have fallen back to another node.
    KmemCacheNode* sn = get_node(s, slab->nid);
    sn->list_lock.lock();
    add_new_slab(sn, slab);
    const SlabState before = slab_state(slab);
    while (slab->slab.freelist && c->avail < s->batch)
      c->entry[c->avail++] = slab_take(s, sn, slab);
    relist(sn, slab, before);
    sn->list_lock.unlock();
  }
  return c->entry[--c->avail];
}

// One object straight from node nid's slabs (debug caches, remote nodes).
void* alloc_from_node(KmemCache* s, gfp_t gfp, int nid) {
  KmemCacheNode* n = get_node(s, nid);
  n->list_lock.lock();
  ListNode* ln = n->partial.first();
  if (!ln) ln = n->empty.first();
  Page* slab = ln ? page_from_lru(ln) : nullptr;
  if (!slab) {
    n->list_lock.unlock();
    slab = new_slab(s, gfp, nid);
    if (!slab) return nullptr;
    n = get_node(s, slab->nid);
    n->list_lock.lock();
    add_new_slab(n, slab);
  }
  const SlabState before = slab_state(slab);
  void* obj = slab_take(s, n, slab);
  relist(n, slab, before);
  if (s->debug()) {
    check_object_free(s, slab, obj);
    init_object_debug(s, obj, true);
  }
  n->list_lock.unlock();
  return obj;
}

void free_to_node(KmemCache* s, Page* slab, void* obj) {
  KmemCacheNode* n = get_node(s, slab->nid);
  ListHead to_free;
  n->list_lock.lock();
  if (s->debug() && on_freelist(s, slab, obj)) {
    n->list_lock.unlock();
    report_double_free(s, slab, obj);
    return;
  }
  if (s->debug() && slab->slab.inuse) {
    check_object_inuse(s, slab, obj);
    init_object_debug(s, obj, false);
  }
  const SlabState before = slab_state(slab);
  if (slab_put(s, n, slab, obj)) relist(n, slab, before);
  trim_empty(s, n, to_free);
  n->list_lock.unlock();
  discard_list(s, to_free);
}

// The slab of obj if obj is an object of s; otherwise reports and returns
// nullptr. Cheap enough for every free.
Page* checked_slab(KmemCache* s, void* obj) {
  Page* slab = obj_to_slab(obj);
  if (!slab || !slab->slab_page()) {
    if (is_kfence_address(obj)) {  // mm/kfence.h; here, off the fast path
      kfence_free(obj, s);
      return nullptr;
    }
    slab_report(s, "Free of a non-slab pointer", "%p is not slab memory; free refused\n", obj);
    return nullptr;
  }
  KmemCache* owner = slab_cache(slab);
  if (owner != s) {
    slab_report(s, "Wrong slab cache", "object %p belongs to cache %s; free refused\n", obj,
                owner ? owner->name : "(none)");
    return nullptr;
  }
  if (!slab_valid_object(s, slab, obj)) {
    slab_report(s, "Invalid object pointer",
                "%p is not the start of an object (slab %p); free refused\n", obj, slab_base(slab));
    return nullptr;
  }
  return slab;
}

}  // namespace

uint64_t slab_new_random() {
  if (!g_slab_harden) return 0;
  const uint64_t r = mix64(g_random_state.fetch_add(0x9e3779b97f4a7c15ull) + arch::read_cycle());
  return r ? r : 0x9e3779b97f4a7c15ull;
}

void slab_add_randomness(const void* data, size_t len) {
  const auto* b = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; ++i) g_random_seed = mix64(g_random_seed ^ b[i]) + i;
}

bool slab_hardened() { return g_slab_harden; }

long slab_obj_index(const KmemCache* s, const Page* slab, const void* obj) {
  if (!slab_valid_object(s, slab, obj)) return -1;
  return static_cast<long>((reinterpret_cast<uintptr_t>(obj) - slab->private_data) / s->size);
}

KmemCache* create_boot_cache(const char* name, size_t size, size_t align, slab_flags_t flags) {
  return create_cache(name, size, align, flags | SLAB_PANIC, nullptr, true);
}

KmemCache* kmem_cache_create(const char* name, size_t size, size_t align, slab_flags_t flags,
                             void (*ctor)(void*)) {
  return create_cache(name, size, align, flags, ctor, false);
}

// Everything the fast path (slab_alloc, mm/slab_internal.h) does not
// handle: an empty per-CPU array (refill), another node, a debug cache, a
// CPU without an array, nullptr.
void* slab_alloc_slow(KmemCache* s, gfp_t gfp, int nid) {
  if (!s) return nullptr;
  void* obj;
  const unsigned long irq = arch::irq_save();
  const unsigned cpu = arch::this_cpu();
  const int local = numa_node_id();
  if (nid < 0 || nid >= static_cast<int>(s->nr_nodes) || !node_online(nid)) nid = local;
  if (nid == local && cpu < s->nr_fast_cpus) {
    KmemCacheCpu* c = &s->cpu[cpu];
    c->lock.lock();
    if (c->avail) {
      obj = c->entry[--c->avail];
    } else {
      ++c->alloc_miss;
      obj = refill_array(s, c, gfp, local);
    }
    c->lock.unlock();
  } else {
    obj = alloc_from_node(s, gfp, nid);
  }
  arch::irq_restore(irq);
  if (obj && (gfp & __GFP_ZERO)) std::memset(obj, 0, s->object_size);
  return obj;
}

// Frees that the fast path declined: the array is full (flush a batch), the
// object is the array's top (double free), another node's object, a debug
// cache, a CPU without an array.
void slab_free_slow(KmemCache* s, Page* slab, void* obj) {
  const unsigned long irq = arch::irq_save();
  const unsigned cpu = arch::this_cpu();
  if (cpu < s->nr_fast_cpus && slab->nid == s->cpu[cpu].node) {
    KmemCacheCpu* c = &s->cpu[cpu];
    c->lock.lock();
    // The cheap double-free check of Linux's hardened freelist: the same
    // object freed twice in a row.
    if (c->avail && c->entry[c->avail - 1] == obj) {
      c->lock.unlock();
      arch::irq_restore(irq);
      slab_report(s, "Object already free",
                  "double free of object %p (CPU %u array); free refused\n", obj, cpu);
      return;
    }
    if (c->avail == c->limit) {
      ++c->free_miss;
      flush_array(s, c, s->batch);
    }
    c->entry[c->avail++] = obj;
    c->lock.unlock();
  } else {
    free_to_node(s, slab, obj);
  }
  arch::irq_restore(irq);
}

void* kmem_cache_alloc_node(KmemCache* s, gfp_t gfp, int nid) { return slab_alloc(s, gfp, nid); }

void* kmem_cache_alloc(KmemCache* s, gfp_t gfp) { return slab_alloc(s, gfp, NUMA_NO_NODE); }

void kmem_cache_free(KmemCache* s, void* obj) {
  // Free hooks (KFENCE) go here (kfree has its own entry).
  // Fast path: an object of a slab of s (everything wrong goes through
  // checked_slab, which says what).
  Page* slab = linear_page_fast(obj);
  if (slab) [[likely]] {
    if (slab->flags.load(std::memory_order_relaxed) & Page::bit(PageFlag::kTail))
      slab = slab->compound.head;
    if (slab->slab_page() && slab_cache(slab) == s && slab_valid_object(s, slab, obj)) [[likely]]
      return slab_free(s, slab, obj);
  }
  if (!obj || !s) return;
  slab = checked_slab(s, obj);  // reports what is wrong
  if (slab) slab_free(s, slab, obj);
}

void drain_all_cpu_arrays(KmemCache* s) {
  if (!s->nr_fast_cpus) return;
  for (unsigned cpu = 0; cpu < s->nr_cpus; ++cpu) {
    KmemCacheCpu* c = &s->cpu[cpu];
    IrqSpinLockGuard g(c->lock);
    if (c->avail) flush_array(s, c, c->avail);
  }
}

uint64_t kmem_cache_shrink(KmemCache* s) {
  if (!s) return 0;
  drain_all_cpu_arrays(s);
  uint64_t pages = 0;
  for (unsigned nid = 0; nid < s->nr_nodes; ++nid) {
    KmemCacheNode* n = get_node(s, static_cast<int>(nid));
    ListHead to_free;
    {
      IrqSpinLockGuard g(n->list_lock);
      while (ListNode* ln = n->empty.first()) {
        Page* slab = page_from_lru(ln);
        list_del_state(n, slab, kEmpty);
        n->total_objects -= slab->slab.objects;
        to_free.push_back(&slab->lru);
        pages += uint64_t{1} << s->order;
      }
    }
    discard_list(s, to_free);
  }
  return pages;
}

namespace {

// Lists up to `max` allocated objects of s (destroy refusing).
void report_live_objects(KmemCache* s, unsigned max) {
  unsigned shown = 0;
  for (unsigned nid = 0; nid < s->nr_nodes; ++nid) {
    KmemCacheNode* n = get_node(s, static_cast<int>(nid));
    IrqSpinLockGuard g(n->list_lock);
    for (ListHead* l : {&n->partial, &n->full}) {
      l->for_each([&](ListNode* ln) {
        Page* slab = page_from_lru(ln);
        for (unsigned i = 0; i < slab->slab.objects && shown < max; ++i) {
          void* obj = object_at(s, slab, i);
          if (!on_freelist(s, slab, obj)) {
            pr_err("  %s: object %p still allocated\n", s->name, obj);
            ++shown;
          }
        }
      });
    }
  }
}

}  // namespace

bool kmem_cache_destroy(KmemCache* s) {
  if (!s) return true;
  if (s->boot) {
    pr_err("kmem_cache_destroy(%s): boot cache, refused\n", s->name);
    return false;
  }
  kmem_cache_shrink(s);
  uint64_t live = 0;
  for (unsigned nid = 0; nid < s->nr_nodes; ++nid) {
    KmemCacheNode* n = get_node(s, static_cast<int>(nid));
    IrqSpinLockGuard g(n->list_lock);
    live += n->inuse_objects;
  }
  live += kfence_cache_objects(s);
  if (live) {
    pr_err("kmem_cache_destroy %s: Slab cache still has objects (%llu); not destroyed\n", s->name,
           static_cast<unsigned long long>(live));
    report_live_objects(s, 16);
    return false;
  }
  {
    IrqSpinLockGuard g(g_slab_lock);
    s->list.unlink();
  }
  s->~KmemCache();
  kfree(s);
  return true;
}

size_t kmem_cache_size(const KmemCache* s) { return s ? s->object_size : 0; }
const char* kmem_cache_name(const KmemCache* s) { return s ? s->name : "(null)"; }
slab_flags_t kmem_cache_flags(const KmemCache* s) { return s ? s->flags : 0; }

KmemCache* virt_to_cache(const void* p) {
  if (!p || !arch::is_linear_addr(p)) return nullptr;
  Page* slab = obj_to_slab(p);
  return slab && slab->slab_page() ? slab_cache(slab) : nullptr;
}

bool slab_is_available() { return g_slab_up; }

void kmem_cache_init(std::string_view cmdline) {
  g_slab_up = false;
  g_slab_caches.init();
  g_slab_harden = true;
  g_random_state.store(mix64(g_random_seed ^ arch::read_time() ^ (arch::read_cycle() << 17) ^
                             reinterpret_cast<uintptr_t>(&g_random_seed)));
  g_boot_cur = nullptr;
  g_boot_left = 0;
  kmalloc_reset();
  cmdline_for_each(cmdline, [](const CmdlineParam& p) {
    // slub_debug= is the name Linux used before 6.7.
    if (cmdline_key_eq(p.key, "slab_debug") || cmdline_key_eq(p.key, "slub_debug"))
      slab_parse_debug(p.has_value ? p.value : std::string_view());
    if (cmdline_key_eq(p.key, "slab_harden"))
      g_slab_harden = !(p.has_value && (p.value == "0" || p.value == "off"));
  });
  int last = 0;
  for_each_online_node(nid) last = nid;
  g_nr_node_ids = last + 1;
  if (!linear_page_index_init())
    pr_warn("SLAB: no linear page index; frees take the page-map walk\n");
  g_slab_up = true;
  kmalloc_init();
  pr_info("SLAB: %u CPUs, %d node ids, kmalloc caches 8 .. %u bytes ready, freelist %s\n",
          arch::nr_cpus(), g_nr_node_ids, static_cast<unsigned>(KMALLOC_MAX_CACHE_SIZE),
          g_slab_harden ? "hardened" : "plain (slab_harden=0)");
}

}  // namespace k
