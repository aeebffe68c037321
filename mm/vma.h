// Virtual memory areas of one user address space (Linux struct
// vm_area_struct and the mm's VMA tree, include/linux/mm_types.h).
//
// A Vma is a page-aligned half-open range [start, end) with one set of
// access flags and one backing: anonymous (zero-filled on first touch) or
// a private mapping of file bytes that live in memory (the initramfs).
// The VmaTree keeps them in a red-black tree keyed by address, never
// overlapping; neighbours that are compatible (same flags, same backing,
// contiguous file offsets) are merged, so a range mapped piece by piece
// and then given one protection ends as one VMA (the mprotect RW->R->RW
// test). Partial unmap/protect splits a VMA; the number of VMAs is capped
// at kMaxMapCount (Linux vm.max_map_count).
//
// The tree is pure metadata and compiles on the host (tests/host/vma_test
// checks it against a page-granular model); the page tables follow the
// changes through the callbacks of unmap() and protect()
// (mm/mm_struct.cpp). The caller serialises access (the mm lock).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/rbtree.h"
#include "lib/result.h"
#include "lib/types.h"

namespace k {

using vm_flags_t = uint32_t;

// Linux include/linux/mm.h VM_* values.
inline constexpr vm_flags_t VM_READ = 0x1;
inline constexpr vm_flags_t VM_WRITE = 0x2;
inline constexpr vm_flags_t VM_EXEC = 0x4;
inline constexpr vm_flags_t VM_SHARED = 0x8;
inline constexpr vm_flags_t VM_MAYREAD = 0x10;
inline constexpr vm_flags_t VM_MAYWRITE = 0x20;
inline constexpr vm_flags_t VM_MAYEXEC = 0x40;
inline constexpr vm_flags_t VM_GROWSDOWN = 0x100;
inline constexpr vm_flags_t VM_NORESERVE = 0x200000;
inline constexpr vm_flags_t VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

// Linux's default vm.max_map_count (DEFAULT_MAX_MAP_COUNT).
inline constexpr size_t kMaxMapCount = 65530;

// The bytes behind a private file mapping. Pages are copied out of `data`
// on fault; nothing refers to the file after the copy.
struct VmFile {
  const void* identity = nullptr;  // the file (initramfs node); compared for merging
  const uint8_t* data = nullptr;
  uint64_t size = 0;  // bytes of `data`; bytes at or past it read as zero
};

struct Vma {
  RbNode rb;
  uint64_t start = 0;  // page aligned
  uint64_t end = 0;    // page aligned, exclusive
  vm_flags_t flags = 0;
  VmFile file;         // identity == nullptr: anonymous
  uint64_t pgoff = 0;  // file page index mapped at `start` (Linux vm_pgoff)

  bool anonymous() const { return file.identity == nullptr; }
  uint64_t pages() const { return (end - start) >> kPageShift; }
  bool contains(uint64_t addr) const { return addr >= start && addr < end; }
  // File offset of the byte at `addr` (file mappings).
  uint64_t file_offset(uint64_t addr) const { return (pgoff << kPageShift) + (addr - start); }
};

// What a new mapping is: everything but the range.
struct VmaProto {
  vm_flags_t flags = 0;
  VmFile file;
  uint64_t pgoff = 0;
};

// Where Vma objects come from: kmem_cache in the kernel, a counting
// allocator in host tests. alloc returns nullptr when out of memory.
struct VmaAllocator {
  Vma* (*alloc)();
  void (*free)(Vma*);
};

class VmaTree {
 public:
  explicit VmaTree(const VmaAllocator& alloc, size_t max_count = kMaxMapCount)
      : alloc_(alloc), max_count_(max_count) {}
  VmaTree(const VmaTree&) = delete;
  VmaTree& operator=(const VmaTree&) = delete;
  ~VmaTree() { clear(); }

  size_t map_count() const { return count_; }
  size_t max_count() const { return max_count_; }
  void set_max_count(size_t n) { max_count_ = n; }
  bool empty() const { return count_ == 0; }

  // The first VMA with end > addr (Linux find_vma()); nullptr if none.
  // A one-entry cache answers repeated lookups in the same VMA (the page
  // fault pattern) without a descent.
  Vma* find_vma(uint64_t addr);
  // The VMA containing addr, or nullptr.
  Vma* find_vma_containing(uint64_t addr) {
    Vma* v = find_vma(addr);
    return v && v->start <= addr ? v : nullptr;
  }
  // The first VMA overlapping [start, end), or nullptr.
  Vma* find_vma_intersection(uint64_t start, uint64_t end) {
    Vma* v = find_vma(start);
    return v && v->start < end ? v : nullptr;
  }
  Vma* first() const { return to_vma(rb_first(&root_)); }
  Vma* last() const { return to_vma(rb_last(&root_)); }
  static Vma* next(const Vma* v) { return to_vma(rb_next(&v->rb)); }
  static Vma* prev(const Vma* v) { return to_vma(rb_prev(&v->rb)); }
  // Pages covered by all VMAs (VmSize).
  uint64_t total_pages() const { return total_pages_; }

  // Maps [start, end), which must be free, merging with compatible
  // neighbours. ENOMEM at the map-count limit or without memory; EINVAL
  // for a misaligned or empty range; EEXIST if part of it is mapped.
  Result<Vma*> map(uint64_t start, uint64_t end, const VmaProto& proto);

  // Removes [start, end) (holes allowed), splitting VMAs at the edges.
  // on_removed(start, end, const Vma&) is called for every removed piece
  // (before its VMA changes) so the caller can drop its pages. ENOMEM if
  // a split would exceed the map-count limit or memory ran out; then
  // nothing changed.
  template <typename Fn>
  Result<void> unmap(uint64_t start, uint64_t end, Fn&& on_removed);

  // Sets the access flags (VM_READ|VM_WRITE|VM_EXEC) of [start, end),
  // which must be fully mapped (ENOMEM otherwise, like mprotect), then
  // merges. on_changed(start, end, const Vma& old, vm_flags_t new_flags)
  // per affected piece, before the change.
  template <typename Fn>
  Result<void> protect(uint64_t start, uint64_t end, vm_flags_t access, Fn&& on_changed);

  // Lowers v's start to new_start (stack growth); new_start must be page
  // aligned, below v->start and above the previous VMA's end.
  Result<void> expand_down(Vma* v, uint64_t new_start);
  // Moves v's end (mremap in place); the range gained must be free.
  Result<void> resize_end(Vma* v, uint64_t new_end);

  // The highest free range of `len` bytes inside [low, high), top-down
  // (Linux's default mmap layout), keeping `guard` bytes below any
  // VM_GROWSDOWN VMA (stack guard gap). ENOMEM if none.
  Result<uint64_t> get_unmapped_area(uint64_t len, uint64_t low, uint64_t high,
                                     uint64_t guard) const;

  // Removes everything; fn(const Vma&) first sees each VMA.
  template <typename Fn>
  void clear(Fn&& fn) {
    while (Vma* v = first()) {
      fn(*v);
      erase(v);
    }
  }
  void clear() {
    clear([](const Vma&) {});
  }

  // Checks every invariant: tree shape, order, alignment, no overlap, no
  // mergeable neighbours, counts. Returns nullptr or what is broken.
  const char* check() const;

  // Whether a and b (a directly below b) could be one VMA.
  static bool can_merge(const Vma& a, const Vma& b);

 private:
  static Vma* to_vma(const RbNode* n) {
    return n ? reinterpret_cast<Vma*>(const_cast<RbNode*>(n)) : nullptr;
  }
  void insert(Vma* v);
  void erase(Vma* v);
  // Splits v at addr (v->start < addr < v->end) using the node `spare`;
  // returns the upper half.
  Vma* split(Vma* v, uint64_t addr, Vma* spare);
  // Merges v with its neighbours where compatible; returns the survivor.
  Vma* merge_around(Vma* v);
  // Makes [start, end) start and end on VMA boundaries (allocating the
  // nodes first, so a failure changes nothing).
  Result<void> split_edges(uint64_t start, uint64_t end);

  RbRoot root_;
  VmaAllocator alloc_;
  size_t max_count_;
  size_t count_ = 0;
  uint64_t total_pages_ = 0;
  Vma* cache_ = nullptr;
};

static_assert(offsetof(Vma, rb) == 0, "to_vma casts an RbNode back to its Vma");

template <typename Fn>
Result<void> VmaTree::unmap(uint64_t start, uint64_t end, Fn&& on_removed) {
  if (start >= end || !is_aligned(start | end, kPageSize)) return Errno::kEINVAL;
  TRY(split_edges(start, end));
  Vma* v = find_vma(start);
  while (v && v->start < end) {
    Vma* n = next(v);
    on_removed(v->start, v->end, static_cast<const Vma&>(*v));
    erase(v);
    v = n;
  }
  return {};
}

template <typename Fn>
Result<void> VmaTree::protect(uint64_t start, uint64_t end, vm_flags_t access, Fn&& on_changed) {
  if (start >= end || !is_aligned(start | end, kPageSize)) return Errno::kEINVAL;
  // Fully mapped?
  uint64_t at = start;
  for (Vma* v = find_vma(start); at < end; v = next(v)) {
    if (!v || v->start > at) return Errno::kENOMEM;
    at = v->end;
  }
  TRY(split_edges(start, end));
  for (Vma* v = find_vma(start); v && v->start < end; v = next(v)) {
    const vm_flags_t nf = (v->flags & ~VM_ACCESS_FLAGS) | (access & VM_ACCESS_FLAGS);
    on_changed(v->start, v->end, static_cast<const Vma&>(*v), nf);
    v->flags = nf;
  }
  // Merge from the lower neighbour of the range through its upper one.
  for (Vma* m = find_vma(start > 0 ? start - 1 : 0); m && m->start <= end; m = next(m))
    m = merge_around(m);
  cache_ = nullptr;
  return {};
}

}  // namespace k
