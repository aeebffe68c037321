// memblock: region arrays, allocation and the mem= limit. See memblock.h.
#include "mm/memblock.h"

#include <cstring>
#include <initializer_list>

#include <arch/memory.h>

#include "kernel/printk.h"

namespace k {

constinit Memblock memblock;

namespace {

// Clamps size so that base + size does not wrap (Linux memblock_cap_size).
uint64_t cap_size(PhysAddr base, uint64_t size) {
  return size < kPhysAddrMax - base.value() ? size : kPhysAddrMax - base.value();
}

}  // namespace

void Memblock::reset() {
  memory_ = MemblockType{0, kInitMemblockRegions, 0, init_memory_, "memory", false};
  reserved_ = MemblockType{0, kInitMemblockRegions, 0, init_reserved_, "reserved", false};
  current_limit_ = PhysAddr(kPhysAddrMax);
  can_resize_ = false;
  retired_ = false;
}

void Memblock::insert_region(MemblockType& t, size_t idx, PhysAddr base, uint64_t size, int nid,
                             uint32_t flags) {
  std::memmove(&t.regions[idx + 1], &t.regions[idx], (t.cnt - idx) * sizeof(MemblockRegion));
  t.regions[idx] = MemblockRegion{base, size, flags, nid};
  ++t.cnt;
  t.total_size += size;
}

void Memblock::remove_region(MemblockType& t, size_t idx) {
  t.total_size -= t.regions[idx].size;
  std::memmove(&t.regions[idx], &t.regions[idx + 1], (t.cnt - idx - 1) * sizeof(MemblockRegion));
  --t.cnt;
}

void Memblock::merge_regions(MemblockType& t) {
  size_t i = 0;
  while (i + 1 < t.cnt) {
    MemblockRegion& a = t.regions[i];
    const MemblockRegion& b = t.regions[i + 1];
    if (a.end() != b.base || a.nid != b.nid || a.flags != b.flags) {
      ++i;
      continue;
    }
    a.size += b.size;
    std::memmove(&t.regions[i + 1], &t.regions[i + 2], (t.cnt - i - 2) * sizeof(MemblockRegion));
    --t.cnt;
  }
}

Result<void> Memblock::ensure_room(MemblockType& t, size_t needed, PhysAddr excl_base,
                                   uint64_t excl_size) {
  while (t.cnt + needed > t.max) TRY(double_array(t, excl_base, excl_size));
  return {};
}

// Linux memblock_double_array(): find room for twice the entries (not
// overlapping the range the caller is about to add/reserve), copy, switch,
// then reserve the new array and free the old one if memblock owned it.
Result<void> Memblock::double_array(MemblockType& t, PhysAddr excl_base, uint64_t excl_size) {
  if (!can_resize_ || retired_) {
    pr_err(
        "memblock: %s array is full (%zu entries) and cannot grow before the linear map "
        "exists\n",
        t.name, t.max);
    return Errno::kENOMEM;
  }
  const size_t old_bytes = align_up(t.max * sizeof(MemblockRegion), kPageSize);
  const size_t new_max = t.max * 2;
  const size_t new_bytes = align_up(new_max * sizeof(MemblockRegion), kPageSize);
  uint64_t addr = 0;
  if (!find_in_range(new_bytes, kPageSize, 0, current_limit_.value(), NUMA_NO_NODE,
                     excl_base.value(), excl_size, &addr)) {
    pr_err("memblock: no room to grow the %s array to %zu entries\n", t.name, new_max);
    return Errno::kENOMEM;
  }
  auto* fresh = static_cast<MemblockRegion*>(arch::phys_to_virt(PhysAddr(addr)));
  std::memcpy(fresh, t.regions, t.cnt * sizeof(MemblockRegion));
  for (size_t i = t.cnt; i < new_max; ++i) fresh[i] = MemblockRegion{};
  MemblockRegion* old = t.regions;
  const bool old_dynamic = t.dynamic;
  t.regions = fresh;
  t.max = new_max;
  t.dynamic = true;
  pr_info("memblock: %s is doubled to %zu at [%#018llx-%#018llx]\n", t.name, new_max,
          static_cast<unsigned long long>(addr),
          static_cast<unsigned long long>(addr + new_bytes - 1));
  // The new array has room for these two updates (at most 2 more entries
  // each), so they cannot recurse into this type again.
  TRY(reserve(PhysAddr(addr), new_bytes));
  if (old_dynamic) TRY(free(arch::virt_to_phys(old), old_bytes));
  return {};
}

// Linux memblock_add_range(): insert the parts of [base, base+size) that no
// region covers yet, then merge neighbours with equal node and flags.
Result<void> Memblock::add_range(MemblockType& t, PhysAddr base, uint64_t size, int nid,
                                 uint32_t flags) {
  size = cap_size(base, size);
  if (!size) return {};
  const uint64_t end = base.value() + size;
  // Pass 1: count the gaps to insert.
  size_t needed = 0;
  uint64_t cur = base.value();
  for (size_t i = 0; i < t.cnt && cur < end; ++i) {
    const MemblockRegion& r = t.regions[i];
    if (r.end().value() <= cur) continue;
    if (r.base.value() >= end) break;
    if (r.base.value() > cur) ++needed;
    cur = r.end().value();
  }
  if (cur < end) ++needed;
  if (!needed) return {};
  TRY(ensure_room(t, needed, base, size));
  // Pass 2: insert.
  cur = base.value();
  size_t i = 0;
  while (cur < end) {
    while (i < t.cnt && t.regions[i].end().value() <= cur) ++i;
    if (i == t.cnt || t.regions[i].base.value() >= end) {
      insert_region(t, i, PhysAddr(cur), end - cur, nid, flags);
      break;
    }
    const MemblockRegion& r = t.regions[i];
    if (r.base.value() > cur) {
      const uint64_t gap_end = r.base.value();
      insert_region(t, i, PhysAddr(cur), gap_end - cur, nid, flags);
      ++i;
    }
    cur = t.regions[i].end().value();
    ++i;
  }
  merge_regions(t);
  return {};
}

// Linux memblock_isolate_range(): split regions at base and base+size so
// that [*start, *end) are exactly the regions inside the range.
Result<void> Memblock::isolate_range(MemblockType& t, PhysAddr base, uint64_t size, size_t* start,
                                     size_t* end) {
  *start = *end = 0;
  size = cap_size(base, size);
  if (!size) return {};
  // Growing must not place the array inside the range being changed (it
  // may be about to become NOMAP or be removed).
  TRY(ensure_room(t, 2, base, size));
  const uint64_t lo = base.value(), hi = lo + size;
  bool found = false;
  for (size_t i = 0; i < t.cnt; ++i) {
    MemblockRegion& r = t.regions[i];
    const uint64_t rb = r.base.value(), re = r.end().value();
    if (rb >= hi) break;
    if (re <= lo) continue;
    if (rb < lo) {
      // Split off the part below lo; the current index becomes the low half.
      r.base = PhysAddr(lo);
      r.size = re - lo;
      t.total_size -= lo - rb;
      insert_region(t, i, PhysAddr(rb), lo - rb, r.nid, r.flags);
      continue;  // revisit the upper half at i + 1
    }
    if (re > hi) {
      r.base = PhysAddr(hi);
      r.size = re - hi;
      t.total_size -= hi - rb;
      insert_region(t, i, PhysAddr(rb), hi - rb, r.nid, r.flags);
      if (!found) *start = i;
      found = true;
      *end = i + 1;
      break;
    }
    if (!found) *start = i;
    found = true;
    *end = i + 1;
  }
  if (!found) *start = *end = 0;
  return {};
}

Result<void> Memblock::remove_range(MemblockType& t, PhysAddr base, uint64_t size) {
  size_t s = 0, e = 0;
  TRY(isolate_range(t, base, size, &s, &e));
  for (size_t i = e; i > s; --i) remove_region(t, i - 1);
  return {};
}

Result<void> Memblock::add(PhysAddr base, uint64_t size, int nid) {
  if (base.value() + size < base.value() && base.value() + size != 0) return Errno::kEINVAL;
  return add_range(memory_, base, size, nid, MEMBLOCK_NONE);
}

Result<void> Memblock::remove(PhysAddr base, uint64_t size) {
  TRY(remove_range(reserved_, base, size));
  return remove_range(memory_, base, size);
}

Result<void> Memblock::reserve(PhysAddr base, uint64_t size) {
  return add_range(reserved_, base, size, NUMA_NO_NODE, MEMBLOCK_NONE);
}

Result<void> Memblock::free(PhysAddr base, uint64_t size) {
  return remove_range(reserved_, base, size);
}

Result<void> Memblock::mark_nomap(PhysAddr base, uint64_t size) {
  size_t s = 0, e = 0;
  TRY(isolate_range(memory_, base, size, &s, &e));
  for (size_t i = s; i < e; ++i) memory_.regions[i].flags |= MEMBLOCK_NOMAP;
  merge_regions(memory_);
  return {};
}

Result<void> Memblock::set_node(PhysAddr base, uint64_t size, int nid) {
  size_t s = 0, e = 0;
  TRY(isolate_range(memory_, base, size, &s, &e));
  for (size_t i = s; i < e; ++i) memory_.regions[i].nid = nid;
  merge_regions(memory_);
  return {};
}

PhysAddr Memblock::enforce_memory_limit(uint64_t limit, PhysAddr keep_end) {
  if (!limit) return PhysAddr(kPhysAddrMax);
  uint64_t left = limit;
  uint64_t cut = kPhysAddrMax;
  for (size_t i = 0; i < memory_.cnt; ++i) {
    const MemblockRegion& r = memory_.regions[i];
    if (r.flags & MEMBLOCK_NOMAP) continue;
    if (r.size >= left) {
      cut = r.base.value() + left;
      break;
    }
    left -= r.size;
  }
  if (cut == kPhysAddrMax) return PhysAddr(kPhysAddrMax);
  if (cut < keep_end.value()) {
    pr_warn(
        "memblock: mem= limit would cut at %#llx, below the kernel/DTB end %#llx; keeping "
        "RAM up to there\n",
        static_cast<unsigned long long>(cut), static_cast<unsigned long long>(keep_end.value()));
    cut = keep_end.value();
  }
  if (remove_range(memory_, PhysAddr(cut), kPhysAddrMax - cut).ok() &&
      remove_range(reserved_, PhysAddr(cut), kPhysAddrMax - cut).ok()) {
    pr_info("memblock: mem=%lluM: RAM above %#llx removed\n",
            static_cast<unsigned long long>(limit >> 20), static_cast<unsigned long long>(cut));
  } else {
    pr_err("memblock: failed to apply mem= limit at %#llx\n", static_cast<unsigned long long>(cut));
  }
  return PhysAddr(cut);
}

template <typename F>
bool Memblock::for_each_free_range_rev(int nid, F f) const {
  size_t rj = reserved_.cnt;
  for (size_t i = memory_.cnt; i > 0; --i) {
    const MemblockRegion& m = memory_.regions[i - 1];
    if (m.flags & MEMBLOCK_NOMAP) continue;
    if (nid != NUMA_NO_NODE && m.nid != nid) continue;
    const uint64_t start = m.base.value();
    uint64_t cur = m.end().value();
    // Skip reservations entirely above this region.
    while (rj > 0 && reserved_.regions[rj - 1].base.value() >= cur) --rj;
    size_t j = rj;
    while (j > 0 && cur > start) {
      const MemblockRegion& r = reserved_.regions[j - 1];
      if (r.end().value() <= start) break;
      if (r.end().value() < cur && f(r.end().value(), cur)) return true;
      if (r.base.value() < cur) cur = r.base.value() > start ? r.base.value() : start;
      --j;
    }
    if (cur > start && f(start, cur)) return true;
  }
  return false;
}

bool Memblock::find_in_range(uint64_t size, uint64_t align, uint64_t start, uint64_t end, int nid,
                             uint64_t excl_base, uint64_t excl_size, uint64_t* out) const {
  const uint64_t excl_end = excl_base + excl_size;
  auto try_gap = [&](uint64_t gs, uint64_t ge) -> bool {
    if (gs < start) gs = start;
    if (ge > end) ge = end;
    if (ge <= gs || ge - gs < size) return false;
    const uint64_t cand = align_down(ge - size, align);
    if (cand < gs) return false;
    *out = cand;
    return true;
  };
  return for_each_free_range_rev(nid, [&](uint64_t gs, uint64_t ge) {
    if (excl_size && gs < excl_end && excl_base < ge) {
      // Upper piece first: the search is top-down.
      if (excl_end < ge && try_gap(excl_end, ge)) return true;
      return excl_base > gs && try_gap(gs, excl_base);
    }
    return try_gap(gs, ge);
  });
}

Result<PhysAddr> Memblock::phys_alloc(uint64_t size, uint64_t align, PhysAddr min_addr,
                                      PhysAddr max_addr, int nid, bool exact_nid) {
  if (!size || !is_pow2(align)) {
    pr_err("memblock: bad allocation request size %#llx align %#llx\n",
           static_cast<unsigned long long>(size), static_cast<unsigned long long>(align));
    return Errno::kEINVAL;
  }
  if (retired_) {
    pr_err("memblock: allocation of %#llx bytes after the page allocator took over\n",
           static_cast<unsigned long long>(size));
    return Errno::kENOMEM;
  }
  if (size > kPhysAddrMax - kPageSize) return Errno::kENOMEM;
  uint64_t end = max_addr.value();
  if (end > current_limit_.value()) end = current_limit_.value();
  uint64_t addr = 0;
  bool ok = find_in_range(size, align, min_addr.value(), end, nid, 0, 0, &addr);
  if (!ok && nid != NUMA_NO_NODE && !exact_nid)
    ok = find_in_range(size, align, min_addr.value(), end, NUMA_NO_NODE, 0, 0, &addr);
  if (!ok) return Errno::kENOMEM;
  TRY(reserve(PhysAddr(addr), size));
  return PhysAddr(addr);
}

void* Memblock::alloc(uint64_t size, uint64_t align, int nid, PhysAddr max_addr) {
  auto pa = phys_alloc(size, align, PhysAddr(0), max_addr, nid, false);
  if (!pa.ok()) {
    pr_err("memblock: failed to allocate %llu bytes align %#llx node %d\n",
           static_cast<unsigned long long>(size), static_cast<unsigned long long>(align), nid);
    return nullptr;
  }
  void* p = arch::phys_to_virt(*pa);
  std::memset(p, 0, size);
  return p;
}

void Memblock::free_virt(void* p, uint64_t size) {
  if (p) (void)free(arch::virt_to_phys(p), size);
}

PhysAddr Memblock::start_of_dram() const {
  return memory_.cnt ? memory_.regions[0].base : PhysAddr(0);
}
PhysAddr Memblock::end_of_dram() const {
  return memory_.cnt ? memory_.regions[memory_.cnt - 1].end() : PhysAddr(0);
}

namespace {
const MemblockRegion* find_region(const MemblockType& t, PhysAddr a) {
  size_t lo = 0, hi = t.cnt;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const MemblockRegion& r = t.regions[mid];
    if (a < r.base)
      hi = mid;
    else if (a >= r.end())
      lo = mid + 1;
    else
      return &r;
  }
  return nullptr;
}
}  // namespace

bool Memblock::is_memory(PhysAddr a) const { return find_region(memory_, a) != nullptr; }
bool Memblock::is_reserved(PhysAddr a) const { return find_region(reserved_, a) != nullptr; }
bool Memblock::is_nomap(PhysAddr a) const {
  const MemblockRegion* r = find_region(memory_, a);
  return r && (r->flags & MEMBLOCK_NOMAP);
}

bool Memblock::is_region_reserved(PhysAddr base, uint64_t size) const {
  const PhysRange want{base, size};
  for (size_t i = 0; i < reserved_.cnt; ++i)
    if (want.overlaps(PhysRange{reserved_.regions[i].base, reserved_.regions[i].size})) return true;
  return false;
}

bool Memblock::is_region_memory(PhysAddr base, uint64_t size) const {
  uint64_t cur = base.value();
  const uint64_t end = base.value() + cap_size(base, size);
  while (cur < end) {
    const MemblockRegion* r = find_region(memory_, PhysAddr(cur));
    if (!r || (r->flags & MEMBLOCK_NOMAP)) return false;
    cur = r->end().value();
  }
  return true;
}

void Memblock::dump() const {
  pr_info("memblock: physical memory map (/proc/iomem style):\n");
  size_t j = 0;
  for (size_t i = 0; i < memory_.cnt; ++i) {
    const MemblockRegion& m = memory_.regions[i];
    const bool nomap = m.flags & MEMBLOCK_NOMAP;
    pr_info("%08llx-%08llx : %s\n", static_cast<unsigned long long>(m.base.value()),
            static_cast<unsigned long long>(m.end().value() - 1),
            nomap ? "Reserved" : "System RAM");
    while (j < reserved_.cnt && reserved_.regions[j].end() <= m.base) ++j;
    for (size_t r = j; r < reserved_.cnt && reserved_.regions[r].base < m.end(); ++r) {
      const uint64_t rb =
          reserved_.regions[r].base < m.base ? m.base.value() : reserved_.regions[r].base.value();
      const uint64_t re = reserved_.regions[r].end() > m.end() ? m.end().value()
                                                               : reserved_.regions[r].end().value();
      pr_info("  %08llx-%08llx : reserved\n", static_cast<unsigned long long>(rb),
              static_cast<unsigned long long>(re - 1));
    }
  }
}

void Memblock::dump_arrays() const {
  for (const MemblockType* t : {&memory_, &reserved_}) {
    pr_info(" %s.cnt  = %#zx\n", t->name, t->cnt);
    for (size_t i = 0; i < t->cnt; ++i) {
      const MemblockRegion& r = t->regions[i];
      pr_info(" %s[%#zx]\t[%#018llx-%#018llx], %#018llx bytes on node %d flags: %#x\n", t->name, i,
              static_cast<unsigned long long>(r.base.value()),
              static_cast<unsigned long long>(r.end().value() - 1),
              static_cast<unsigned long long>(r.size), r.nid, r.flags);
    }
  }
}

}  // namespace k
