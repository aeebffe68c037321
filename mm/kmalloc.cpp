// kmalloc size classes over the slab caches, large allocations from the
// page allocator (Linux mm/slab_common.c).
#include "mm/kmalloc.h"

#include <arch/memory.h>

#include <array>
#include <atomic>
#include <cstring>

#include "kernel/printk.h"
#include "mm/accounting.h"
#include "mm/kfence.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"
#include "mm/vmalloc.h"

namespace k {

// vmalloc sits on the arch page-table interface and is not part of the
// host test build (tests/host/vm.cmake): refer to it weakly so that
// kvmalloc is plain kmalloc where no vmalloc is linked.
[[gnu::weak]] void* __vmalloc_node(size_t size, size_t align, gfp_t gfp, int node,
                                   uint64_t vm_flags, const void* caller);
[[gnu::weak]] void vfree(const void* addr);
[[gnu::weak]] bool is_vmalloc_addr(const void* addr);

namespace {

enum KmallocType : unsigned { KMALLOC_NORMAL = 0, KMALLOC_DMA32, KMALLOC_DMA, NR_KMALLOC_TYPES };
constexpr unsigned kNrIndexes = KMALLOC_SHIFT_HIGH + 1;

// Index -> class size; 1 and 2 are the non-power-of-two classes (Linux
// kmalloc_info[]); 0 is unused.
constexpr size_t kClassSize[kNrIndexes] = {0,   96,  192, 8,    16,   32,   64,
                                           128, 256, 512, 1024, 2048, 4096, 8192};

// (size - 1) / 8 -> index for sizes up to 192 (Linux size_index[]).
constexpr auto kSmallIndex = [] {
  std::array<uint8_t, 24> t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(kmalloc_index(i * 8 + 1));
  return t;
}();

KmemCache* g_kmalloc_caches[NR_KMALLOC_TYPES][kNrIndexes];
std::atomic<uint64_t> g_large_pages{0};

// Marks a page-allocator block as a large kmalloc in its head's private
// word, so kfree can tell it from other compound pages.
constexpr uint64_t kLargeKmallocMagic = 0x6b6d616c6c6f634bull;  // "Kcollamk"

constexpr gfp_t kGfpZones = __GFP_DMA | __GFP_DMA32;

inline KmallocType kmalloc_type(gfp_t gfp) {
  if (gfp & __GFP_DMA) return KMALLOC_DMA;
  if (gfp & __GFP_DMA32) return KMALLOC_DMA32;
  return KMALLOC_NORMAL;
}

unsigned get_order(size_t size) {
  unsigned order = 0;
  while ((kPageSize << order) < size) ++order;
  return order;
}

void* kmalloc_large(size_t size, gfp_t gfp, int nid) {
  if (size > KMALLOC_MAX_SIZE) {
    if (!(gfp & __GFP_NOWARN))
      pr_warn("kmalloc: %zu bytes is above KMALLOC_MAX_SIZE (%zu)\n", size, KMALLOC_MAX_SIZE);
    return nullptr;
  }
  const unsigned order = get_order(size);
  Page* page = alloc_pages_node(nid, gfp | __GFP_COMP, order);
  if (!page) return nullptr;
  account_pages(MM_KMALLOC_LARGE, page, order, +1);  // mm/accounting.h
  page->private_data = kLargeKmallocMagic;
  g_large_pages.fetch_add(uint64_t{1} << order, std::memory_order_relaxed);
  return page_address(page);
}

// Writes "<prefix><size>" with Linux's k suffix for whole KiB.
void class_name(char* out, size_t len, const char* prefix, size_t size) {
  char digits[24];
  int n = 0;
  size_t v = size >= 1024 && size % 1024 == 0 ? size / 1024 : size;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  size_t o = 0;
  for (const char* p = prefix; *p && o + 1 < len; ++p) out[o++] = *p;
  while (n && o + 1 < len) out[o++] = digits[--n];
  if (size >= 1024 && size % 1024 == 0 && o + 1 < len) out[o++] = 'k';
  out[o] = 0;
}

// The slab of a kmalloc'd pointer (nullptr if it is not one), or the head
// of its large allocation.
enum class Kind { kNone, kSlab, kLarge };
Kind classify(const void* p, Page** out) {
  Page* page = linear_to_head_page(p);
  if (!page) return Kind::kNone;
  *out = page;
  if (page->slab_page()) return Kind::kSlab;
  if (page->head() && page->private_data == kLargeKmallocMagic && page_address(page) == p)
    return Kind::kLarge;
  return Kind::kNone;
}

// (size - 1) / 256 -> index for 193 .. 8192 bytes (rv64imac has no
// count-leading-zeros instruction; a 32-byte table is cheaper than libgcc).
constexpr auto kLargeIndex = [] {
  std::array<uint8_t, KMALLOC_MAX_CACHE_SIZE / 256> t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(kmalloc_index(i * 256 + 256));
  return t;
}();

// Run-time size (1 .. KMALLOC_MAX_CACHE_SIZE) -> index.
inline unsigned size_index(size_t size) {
  if (size <= 192) return kSmallIndex[(size - 1) / 8];
  return kLargeIndex[(size - 1) / 256];
}

// The slow half of kmalloc_node/kfree: everything but a normal-zone class.
[[gnu::noinline]] void* kmalloc_slow(size_t size, gfp_t gfp, int nid) {
  if (size == 0) return ZERO_SIZE_PTR;
  if (size > KMALLOC_MAX_CACHE_SIZE) return kmalloc_large(size, gfp, nid);
  KmemCache* s = g_kmalloc_caches[kmalloc_type(gfp)][size_index(size)];
  if (!s) {
    pr_err("kmalloc(%zu) before kmem_cache_init\n", size);
    return nullptr;
  }
  return kmem_cache_alloc_node(s, gfp, nid);
}

}  // namespace

KmemCache* kmalloc_caches[kNrIndexes];

size_t kmalloc_class_size(unsigned index) { return index < kNrIndexes ? kClassSize[index] : 0; }

uint64_t kmalloc_large_pages() { return g_large_pages.load(std::memory_order_relaxed); }

void kmalloc_reset() {
  std::memset(g_kmalloc_caches, 0, sizeof g_kmalloc_caches);
  std::memset(kmalloc_caches, 0, sizeof kmalloc_caches);
  g_large_pages.store(0, std::memory_order_relaxed);
}

void kmalloc_init() {
  static const char* const kPrefix[NR_KMALLOC_TYPES] = {"kmalloc-", "dma32-kmalloc-",
                                                        "dma-kmalloc-"};
  static constexpr slab_flags_t kFlags[NR_KMALLOC_TYPES] = {0, SLAB_CACHE_DMA32, SLAB_CACHE_DMA};
  for (unsigned t = 0; t < NR_KMALLOC_TYPES; ++t) {
    for (unsigned i = 1; i < kNrIndexes; ++i) {
      char name[32];
      const size_t size = kClassSize[i];
      class_name(name, sizeof name, kPrefix[t], size);
      // Power-of-two classes are naturally aligned (Linux guarantees it
      // since 5.4); 96 and 192 get the 8-byte minimum.
      g_kmalloc_caches[t][i] = create_boot_cache(name, size, is_pow2(size) ? size : 0, kFlags[t]);
    }
  }
  std::memcpy(kmalloc_caches, g_kmalloc_caches[KMALLOC_NORMAL], sizeof kmalloc_caches);
}

void* kmalloc_node(size_t size, gfp_t gfp, int nid) {
  // (Slab allocation hooks are in slab_alloc; large ones in alloc_pages.)
  if (size - 1 < KMALLOC_MAX_CACHE_SIZE && !(gfp & kGfpZones)) [[likely]] {
    if (KmemCache* s = kmalloc_caches[size_index(size)]) [[likely]] {
      // KFENCE samples kmalloc with the size asked for (mm/kfence.h).
      if (kfence_kmalloc_due()) [[unlikely]]
        return kfence_kmalloc_node(s, size, gfp, nid);
      return slab_alloc(s, gfp, nid);
    }
  }
  return kmalloc_slow(size, gfp, nid);
}

void* __kmalloc(size_t size, gfp_t gfp) { return kmalloc_node(size, gfp, NUMA_NO_NODE); }

void* kmalloc_array(size_t n, size_t size, gfp_t gfp) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) return nullptr;
  return kmalloc(bytes, gfp);
}

[[gnu::noinline]] static void kfree_slow(const void* p);

void kfree(const void* p) {
  // Free hooks (KFENCE) go here.
  // Fast path: a slab object (linear_page_fast is nullptr for
  // ZERO_SIZE_PTR, nullptr and other non-linear pointers).
  Page* page = linear_page_fast(p);
  if (page) [[likely]] {
    const uint32_t flags = page->flags.load(std::memory_order_relaxed);
    if (flags & Page::bit(PageFlag::kTail)) page = page->compound.head;
    if (page->slab_page()) [[likely]] {
      KmemCache* s = slab_cache(page);
      if (slab_valid_object(s, page, p)) [[likely]]
        return slab_free(s, page, const_cast<void*>(p));
    }
  }
  kfree_slow(p);
}

// Everything but a valid slab object: nullptr and ZERO_SIZE_PTR (ignored),
// large allocations, and pointers kmalloc did not return (reported).
static void kfree_slow(const void* p) {
  if (ZERO_OR_NULL_PTR(p)) return;
  Page* page = nullptr;
  switch (classify(p, &page)) {
    case Kind::kSlab:
      kmem_cache_free(slab_cache(page), const_cast<void*>(p));
      return;
    case Kind::kLarge: {
      const unsigned order = page->order;
      page->private_data = 0;
      g_large_pages.fetch_sub(uint64_t{1} << order, std::memory_order_relaxed);
      account_pages(MM_KMALLOC_LARGE, page, order, -1);  // mm/accounting.h
      __free_pages(page, order);
      return;
    }
    case Kind::kNone:
      // The KFENCE pool is neither slab nor large kmalloc: checked here,
      // off the fast path.
      if (is_kfence_address(p)) return kfence_free(p, nullptr);
      slab_report(nullptr, "kfree of a pointer kmalloc did not return", "%p; free refused\n", p);
      return;
  }
}

size_t ksize(const void* p) {
  if (ZERO_OR_NULL_PTR(p)) return 0;
  Page* page = nullptr;
  switch (classify(p, &page)) {
    case Kind::kSlab: {
      const KmemCache* s = slab_cache(page);
      return slab_obj_index(s, page, p) < 0 ? 0 : s->object_size;
    }
    case Kind::kLarge:
      return kPageSize << page->order;
    case Kind::kNone:
      if (is_kfence_address(p)) return kfence_ksize(p);
      break;
  }
  return 0;
}

void* krealloc(const void* p, size_t new_size, gfp_t gfp) {
  if (new_size == 0) {
    kfree(p);
    return ZERO_SIZE_PTR;
  }
  const size_t ks = ksize(p);
  if (!ZERO_OR_NULL_PTR(p) && ks == 0) {
    slab_report(nullptr, "krealloc of a pointer kmalloc did not return", "%p; refused\n", p);
    return nullptr;
  }
  if (ks >= new_size) {
    // Fits in place. Bytes past the new size are no longer the caller's.
    if (gfp & __GFP_ZERO)
      std::memset(static_cast<char*>(const_cast<void*>(p)) + new_size, 0, ks - new_size);
    return const_cast<void*>(p);
  }
  void* n = kmalloc(new_size, gfp);
  if (!n) return nullptr;
  if (ks) std::memcpy(n, p, ks);
  kfree(p);
  return n;
}

void* kvmalloc_node(size_t size, gfp_t gfp, int nid) {
  if (size <= kPageSize) return kmalloc_node(size, gfp, nid);
  // Linux kvmalloc_node(): a physically contiguous block if the buddy
  // allocator has one without effort, virtually contiguous pages otherwise.
  void* p = kmalloc_node(size, gfp | __GFP_NOWARN | __GFP_NORETRY, nid);
  if (p) return p;
  // vmalloc maps pages and may wait for TLB shootdowns: blocking callers only.
  if (!gfpflags_allow_blocking(gfp) || !__vmalloc_node) return nullptr;
  return __vmalloc_node(size, kPageSize, gfp, nid, 0, __builtin_return_address(0));
}

void* kvmalloc(size_t size, gfp_t gfp) { return kvmalloc_node(size, gfp, NUMA_NO_NODE); }

void* kvmalloc_array(size_t n, size_t size, gfp_t gfp) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) return nullptr;
  return kvmalloc(bytes, gfp);
}

void kvfree(const void* p) {
  if (is_vmalloc_addr && vfree && is_vmalloc_addr(p)) {
    vfree(p);
    return;
  }
  kfree(p);
}

}  // namespace k
