// The free-area allocator behind vmalloc, vmap and ioremap (the role of
// Linux's mm/vmalloc.c "vmap_area" trees).
//
// A range [start, end) of kernel virtual address space is cut into busy
// and free areas. Free areas live in a search tree keyed by address and
// augmented with the largest free size in each subtree, so "the lowest
// free area where `size` bytes aligned to `align` fit" takes O(log n)
// descents no matter how many areas are live; busy areas live in a second
// tree keyed by address for O(log n) lookup by vfree. Freed areas merge
// with free neighbours at once, so the free tree never holds two adjacent
// areas.
//
// The trees are treaps (binary search trees whose shape is fixed by a
// pseudo-random priority per node, giving expected O(log n) depth; Seidel
// and Aragon, "Randomized search trees", 1996): the same bounds as the
// augmented red-black tree Linux uses with a fraction of the code.
//
// No memory is allocated here: area descriptors come from a NodeSource
// the owner provides (a page-backed pool in the kernel, new/delete on the
// host). The allocator is not locked; its owner serialises calls.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k {

struct Page;

// One area, busy or free. The owner-data fields are used by vmalloc for
// busy areas and ignored here.
struct VmapArea {
  uint64_t va_start = 0;
  uint64_t va_end = 0;  // exclusive

  // Tree links (private to VmapAllocator).
  VmapArea* left = nullptr;
  VmapArea* right = nullptr;
  uint64_t prio = 0;
  uint64_t subtree_max_size = 0;  // free tree: largest size in this subtree

  // Owner data for busy areas (Linux struct vm_struct).
  uint64_t flags = 0;
  uint64_t size = 0;          // mapped bytes, without guard pages
  uint64_t addr = 0;          // first mapped byte (va_start, or above a low guard)
  Page* page_ring = nullptr;  // vmalloc: its pages, ringed through Page::lru
  uint64_t nr_pages = 0;
  uint64_t phys_addr = 0;  // ioremap: physical base
  const void* caller = nullptr;
  VmapArea* purge_next = nullptr;  // vmalloc: on the lazy-purge list

  uint64_t area_size() const { return va_end - va_start; }
};

struct VmapNodeSource {
  VmapArea* (*alloc)(void* ctx);  // nullptr when out of memory
  void (*free)(void* ctx, VmapArea* node);
  void* ctx;
};

class VmapAllocator {
 public:
  // Manages [start, end) (page-aligned, start < end). Returns false if the
  // node source has no node for the initial free area.
  bool init(uint64_t start, uint64_t end, VmapNodeSource src);

  // Reserves `size` bytes (a multiple of the page size, > 0) aligned to
  // `align` (a power of two >= page size) at the lowest address that
  // fits. Returns the busy area (va_start/va_end filled, owner data
  // zeroed) or nullptr when no free area fits or no node is available.
  VmapArea* alloc(uint64_t size, uint64_t align);

  // The busy area starting exactly at `va`, or nullptr.
  VmapArea* find_busy(uint64_t va) const;
  // The busy area containing `va`, or nullptr.
  VmapArea* find_busy_containing(uint64_t va) const;

  // Returns a busy area (from alloc) to the free tree, merging it with
  // free neighbours. The node belongs to the allocator again.
  void free(VmapArea* area);

  // Visits busy or free areas in address order: fn(const VmapArea&, ctx).
  void for_each_busy(void (*fn)(const VmapArea&, void*), void* ctx) const;
  void for_each_free(void (*fn)(const VmapArea&, void*), void* ctx) const;

  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  uint64_t nr_busy() const { return nr_busy_; }
  uint64_t nr_free() const { return nr_free_; }
  uint64_t free_bytes() const { return free_bytes_; }
  // Largest free area (the free tree root's augmented value).
  uint64_t largest_free() const;

  // Checks every tree invariant (order, disjointness, no adjacent free
  // areas, augmented sizes, heap order of priorities, counters, and that
  // busy + free areas tile [start, end) exactly). For tests; O(n).
  bool check_invariants() const;

 private:
  VmapArea* new_node();
  void release_node(VmapArea* n);

  VmapArea* free_root_ = nullptr;
  VmapArea* busy_root_ = nullptr;
  uint64_t start_ = 0;
  uint64_t end_ = 0;
  uint64_t nr_busy_ = 0;
  uint64_t nr_free_ = 0;
  uint64_t free_bytes_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  VmapNodeSource src_{};
};

}  // namespace k
