// The page-table editing core: map, unmap, change protection and look up
// ranges of a Sv39/Sv48 page table (Privileged spec v1.12, 4.3-4.5). The
// number of levels is a runtime value, so one Image serves both modes.
//
// Header-only and free of kernel services: the caller says how to get a
// zeroed table page, how to give one back and how to reach a table by its
// physical address (the Ops below). The kernel supplies the buddy
// allocator and the linear map (arch/riscv/mm/pgtable.cpp); host tests
// supply a simulated physical memory (tests/host/pgtable_test.cpp), so the
// same code is tested for both modes without hardware.
//
// Rules the editor keeps:
//  - leaves are as large as alignment and the caller's max_leaf_level
//    allow (4 KiB, 2 MiB, 1 GiB; 512 GiB leaves are never made);
//  - a large leaf that an unmap or protect covers only in part is split
//    into a table of next-smaller leaves with the same translation first;
//  - a table that becomes empty is unlinked and handed to Ops::free_table,
//    except the root and, with keep_levels = 2, the root's direct children
//    (the kernel's preallocated tables, which user page tables share);
//  - a failed map leaves the table as it was (what it mapped is unmapped
//    and the tables it added are freed).
//
// The caller serialises edits of one table and does the TLB maintenance;
// the editor only reports what it changed.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>

#include "arch/riscv/mm/pte.h"

namespace arch {

enum class PtStatus { kOk, kNoMemory, kAlreadyMapped, kBadArgs };

inline const char* pt_status_name(PtStatus s) {
  switch (s) {
    case PtStatus::kOk:
      return "ok";
    case PtStatus::kNoMemory:
      return "no memory for page tables";
    case PtStatus::kAlreadyMapped:
      return "already mapped";
    case PtStatus::kBadArgs:
      return "bad arguments";
  }
  return "?";
}

// What a virtual address translates to.
struct PteLookup {
  uint64_t pte;    // the leaf entry
  unsigned level;  // 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB leaf
  k::PhysAddr pa;  // physical address of the looked-up byte
};

template <typename Ops>
concept PageTableOps = requires(Ops& o, k::PhysAddr pa) {
  { o.alloc_table() } -> std::same_as<k::PhysAddr>;  // zeroed; PhysAddr(0) on failure
  {o.free_table(pa)};                                // an unlinked, all-zero table
  { o.table_at(pa) } -> std::same_as<uint64_t*>;     // where this CPU reaches it
};

namespace pt_detail {

// Bits of an entry other than the PPN: permissions, A/D, RSW, PBMT, N.
inline constexpr uint64_t kPpnField = pte::kPpnMask << pte::kPpnShift;
constexpr uint64_t entry_flags(uint64_t e) { return e & ~kPpnField; }

inline void set_entry(uint64_t* slot, uint64_t v) {
  // Release: a table linked here must be seen filled by any hart (or
  // hardware walker, after its sfence.vma) that sees the link.
  __atomic_store_n(slot, v, __ATOMIC_RELEASE);
}
inline uint64_t get_entry(const uint64_t* slot) { return __atomic_load_n(slot, __ATOMIC_ACQUIRE); }

}  // namespace pt_detail

// Virtual addresses are canonical when bits 63..VA_BITS-1 are all equal
// (Privileged spec 4.4.1 for Sv39, 4.5.1 for Sv48).
constexpr unsigned va_bits(unsigned levels) { return k::kPageShift + pte::kIndexBits * levels; }
constexpr bool is_canonical(uint64_t va, unsigned levels) {
  const unsigned shift = va_bits(levels) - 1;
  const uint64_t top = va >> shift;
  return top == 0 || top == (~uint64_t{0} >> shift);
}

template <PageTableOps Ops>
class PageTableEditor {
 public:
  // keep_levels: how many table levels from the root down are never freed
  // (1: only the root; 2: the root and its children).
  PageTableEditor(k::PhysAddr root, unsigned levels, Ops& ops, unsigned keep_levels = 1)
      : root_(root), levels_(levels), ops_(ops), keep_levels_(keep_levels) {}

  unsigned levels() const { return levels_; }

  // Maps [va, va+size) to [pa, pa+size) with leaf `flags` (V and at least
  // one of R/X; the caller presets A/D). Leaves up to max_leaf_level.
  PtStatus map(uint64_t va, k::PhysAddr pa, uint64_t size, uint64_t flags,
               unsigned max_leaf_level) {
    if (!range_ok(va, size) || !k::is_aligned(pa.value(), k::kPageSize) || !pte::is_valid(flags) ||
        !pte::is_leaf(flags) || (flags & pt_detail::kPpnField))
      return PtStatus::kBadArgs;
    const unsigned max_leaf = max_leaf_level < 2 ? max_leaf_level : 2;
    uint64_t fail_va = va;
    const PtStatus st = map_level(table(root_), levels_ - 1, va, va + size - 1, pa.value() - va,
                                  flags, max_leaf < levels_ - 1 ? max_leaf : levels_ - 1, &fail_va);
    if (st != PtStatus::kOk) {
      // Undo: what this call mapped, then the tables it added.
      if (fail_va > va) unmap_level(table(root_), levels_ - 1, va, fail_va - 1);
      prune_level(table(root_), levels_ - 1, va, va + size - 1);
    }
    return st;
  }

  // Removes every mapping in [va, va+size); holes are fine. Fails only if
  // a large leaf must be split and no table page is available (then the
  // part before that leaf is already unmapped).
  PtStatus unmap(uint64_t va, uint64_t size) {
    if (!range_ok(va, size)) return PtStatus::kBadArgs;
    return unmap_level(table(root_), levels_ - 1, va, va + size - 1);
  }

  // The same, but tables that become empty stay linked (prune() frees them
  // later, e.g. once a lazy TLB purge has happened).
  PtStatus unmap_keep_tables(uint64_t va, uint64_t size) {
    if (!range_ok(va, size)) return PtStatus::kBadArgs;
    auto clear = [](uint64_t) -> uint64_t { return 0; };
    return edit_level(table(root_), levels_ - 1, va, va + size - 1, clear, false);
  }

  // Frees (through Ops::free_table) every empty table under [va, va+size)
  // that may be freed.
  void prune(uint64_t va, uint64_t size) {
    if (!range_ok(va, size)) return;
    prune_level(table(root_), levels_ - 1, va, va + size - 1);
  }

  // Replaces the flags of every leaf in [va, va+size), keeping the
  // translation; holes are skipped.
  PtStatus protect(uint64_t va, uint64_t size, uint64_t flags) {
    if (!range_ok(va, size) || !pte::is_valid(flags) || !pte::is_leaf(flags) ||
        (flags & pt_detail::kPpnField))
      return PtStatus::kBadArgs;
    return protect_level(table(root_), levels_ - 1, va, va + size - 1, flags);
  }

  std::optional<PteLookup> lookup(uint64_t va) const {
    if (!is_canonical(va, levels_)) return std::nullopt;
    uint64_t* t = table(root_);
    for (unsigned level = levels_ - 1;; --level) {
      const uint64_t e = pt_detail::get_entry(&t[pte::index(va, level)]);
      if (!pte::is_valid(e)) return std::nullopt;
      if (pte::is_leaf(e)) {
        const uint64_t off = va & (pte::level_size(level) - 1);
        return PteLookup{e, level, pte::phys(e) + off};
      }
      if (level == 0) return std::nullopt;  // a pointer at level 0 is reserved (4.3.2 step 4)
      t = table(pte::phys(e));
    }
  }

  // Calls fn(va, pte, level) for every leaf in [va, va+size), in address
  // order (the va is the leaf's first address, which may lie below `va`).
  template <typename Fn>
  void for_each_leaf(uint64_t va, uint64_t size, Fn&& fn) const {
    if (!range_ok(va, size)) return;
    leaves_level(table(root_), levels_ - 1, va, va + size - 1, fn);
  }

 private:
  bool range_ok(uint64_t va, uint64_t size) const {
    if (size == 0 || !k::is_aligned(va | size, k::kPageSize)) return false;
    const uint64_t last = va + size - 1;
    if (last < va) return false;  // wraps
    // Both ends canonical and in the same half: no hole in between.
    return is_canonical(va, levels_) && is_canonical(last, levels_) && (va >> 63) == (last >> 63);
  }

  uint64_t* table(k::PhysAddr pa) const { return ops_.table_at(pa); }

  // Tables at depth >= keep_levels (root = depth 0) may be freed. A table
  // holding level-L entries sits at depth levels-1-L.
  bool may_free_table_of_level(unsigned entry_level) const {
    return levels_ - 1 - entry_level >= keep_levels_;
  }

  static bool table_empty(const uint64_t* t) {
    for (unsigned i = 0; i < pte::kEntries; ++i)
      if (pt_detail::get_entry(&t[i])) return false;
    return true;
  }

  // Entry `slot` (at `level`, covering [base, base+level_size)) is a
  // leaf; replace it by a table of next-level leaves with the same
  // translation and flags.
  PtStatus split(uint64_t* slot, unsigned level) {
    const uint64_t e = pt_detail::get_entry(slot);
    const k::PhysAddr t = ops_.alloc_table();
    if (t.value() == 0) return PtStatus::kNoMemory;
    uint64_t* child = table(t);
    const uint64_t step = pte::level_size(level - 1);
    const k::PhysAddr pa = pte::phys(e);
    const uint64_t flags = pt_detail::entry_flags(e);
    for (unsigned i = 0; i < pte::kEntries; ++i) child[i] = pte::make(pa + i * step, flags);
    pt_detail::set_entry(slot, pte::make_table(t));
    return PtStatus::kOk;
  }

  // Frees the table `slot` points to if it is empty and may be freed.
  void maybe_free_child(uint64_t* slot, unsigned level) {
    const uint64_t e = pt_detail::get_entry(slot);
    if (!pte::is_valid(e) || pte::is_leaf(e) || !may_free_table_of_level(level - 1)) return;
    if (!table_empty(table(pte::phys(e)))) return;
    pt_detail::set_entry(slot, 0);
    ops_.free_table(pte::phys(e));
  }

  // The sub-range of [va, last] inside the entry that covers va.
  static uint64_t chunk_last(uint64_t va, uint64_t last, unsigned level) {
    const uint64_t entry_last = (va | (pte::level_size(level) - 1));
    return entry_last < last ? entry_last : last;
  }
  static bool covers_entry(uint64_t va, uint64_t clast, unsigned level) {
    const uint64_t mask = pte::level_size(level) - 1;
    return (va & mask) == 0 && (clast & mask) == mask;
  }

  // pa_off: pa - va for every address of the request (unsigned wrap).
  PtStatus map_level(uint64_t* t, unsigned level, uint64_t va, uint64_t last, uint64_t pa_off,
                     uint64_t flags, unsigned max_leaf, uint64_t* fail_va) {
    for (;;) {
      const uint64_t cl = chunk_last(va, last, level);
      uint64_t* slot = &t[pte::index(va, level)];
      const uint64_t e = pt_detail::get_entry(slot);
      const uint64_t pa = va + pa_off;
      const bool leaf_here = level == 0 || (level <= max_leaf && covers_entry(va, cl, level) &&
                                            k::is_aligned(pa, pte::level_size(level)));
      if (leaf_here) {
        if (pte::is_valid(e)) {
          *fail_va = va;
          return PtStatus::kAlreadyMapped;
        }
        pt_detail::set_entry(slot, pte::make(k::PhysAddr(pa), flags));
      } else {
        if (pte::is_valid(e) && pte::is_leaf(e)) {
          *fail_va = va;
          return PtStatus::kAlreadyMapped;
        }
        if (!pte::is_valid(e)) {
          const k::PhysAddr nt = ops_.alloc_table();
          if (nt.value() == 0) {
            *fail_va = va;
            return PtStatus::kNoMemory;
          }
          pt_detail::set_entry(slot, pte::make_table(nt));
        }
        const PtStatus st = map_level(table(pte::phys(pt_detail::get_entry(slot))), level - 1, va,
                                      cl, pa_off, flags, max_leaf, fail_va);
        if (st != PtStatus::kOk) return st;
      }
      if (cl == last) return PtStatus::kOk;
      va = cl + 1;
    }
  }

  // Unmap and protect walk the range the same way: a leaf wholly inside
  // it gets `new_leaf(old)` (0 removes it), a leaf partly inside is split
  // first, and the walk goes on below. Unmapping also frees child tables
  // that became empty.
  template <typename NewLeaf>
  PtStatus edit_level(uint64_t* t, unsigned level, uint64_t va, uint64_t last, NewLeaf& new_leaf,
                      bool free_empty) {
    for (;;) {
      const uint64_t cl = chunk_last(va, last, level);
      uint64_t* slot = &t[pte::index(va, level)];
      const uint64_t e = pt_detail::get_entry(slot);
      if (pte::is_valid(e)) {
        if (pte::is_leaf(e) && covers_entry(va, cl, level)) {
          pt_detail::set_entry(slot, new_leaf(e));
        } else if (level > 0) {
          if (pte::is_leaf(e)) {
            const PtStatus st = split(slot, level);
            if (st != PtStatus::kOk) return st;
          }
          const PtStatus st = edit_level(table(pte::phys(pt_detail::get_entry(slot))), level - 1,
                                         va, cl, new_leaf, free_empty);
          if (free_empty) maybe_free_child(slot, level);
          if (st != PtStatus::kOk) return st;
        }
      }
      if (cl == last) return PtStatus::kOk;
      va = cl + 1;
    }
  }

  PtStatus unmap_level(uint64_t* t, unsigned level, uint64_t va, uint64_t last) {
    auto clear = [](uint64_t) -> uint64_t { return 0; };
    return edit_level(t, level, va, last, clear, true);
  }

  PtStatus protect_level(uint64_t* t, unsigned level, uint64_t va, uint64_t last, uint64_t flags) {
    auto reflag = [flags](uint64_t e) { return pte::make(pte::phys(e), flags); };
    return edit_level(t, level, va, last, reflag, false);
  }

  // Frees empty freeable tables under [va, last] without touching leaves.
  void prune_level(uint64_t* t, unsigned level, uint64_t va, uint64_t last) {
    for (;;) {
      const uint64_t cl = chunk_last(va, last, level);
      uint64_t* slot = &t[pte::index(va, level)];
      const uint64_t e = pt_detail::get_entry(slot);
      if (level > 0 && pte::is_valid(e) && !pte::is_leaf(e)) {
        prune_level(table(pte::phys(e)), level - 1, va, cl);
        maybe_free_child(slot, level);
      }
      if (cl == last) return;
      va = cl + 1;
    }
  }

  template <typename Fn>
  void leaves_level(uint64_t* t, unsigned level, uint64_t va, uint64_t last, Fn& fn) const {
    for (;;) {
      const uint64_t cl = chunk_last(va, last, level);
      const uint64_t e = pt_detail::get_entry(&t[pte::index(va, level)]);
      if (pte::is_valid(e)) {
        if (pte::is_leaf(e))
          fn(va & ~(pte::level_size(level) - 1), e, level);
        else if (level > 0)
          leaves_level(table(pte::phys(e)), level - 1, va, cl, fn);
      }
      if (cl == last) return;
      va = cl + 1;
    }
  }

  k::PhysAddr root_;
  unsigned levels_;
  Ops& ops_;
  unsigned keep_levels_;
};

}  // namespace arch
