// The VMA tree: lookup, insert with merge, split, and the free-range search
// for mmap (see mm/vma.h).
#include "mm/vma.h"

namespace k {

bool VmaTree::can_merge(const Vma& a, const Vma& b) {
  if (a.end != b.start || a.flags != b.flags) return false;
  if (a.file.identity != b.file.identity) return false;
  if (a.anonymous()) return true;
  return a.file.data == b.file.data && a.file.size == b.file.size && a.pgoff + a.pages() == b.pgoff;
}

Vma* VmaTree::find_vma(uint64_t addr) {
  if (cache_ && cache_->contains(addr)) return cache_;
  RbNode* n = root_.node;
  Vma* best = nullptr;
  while (n) {
    Vma* v = to_vma(n);
    if (v->end > addr) {
      best = v;
      if (v->start <= addr) break;
      n = n->left;
    } else {
      n = n->right;
    }
  }
  if (best && best->start <= addr) cache_ = best;
  return best;
}

void VmaTree::insert(Vma* v) {
  RbNode** link = &root_.node;
  RbNode* parent = nullptr;
  while (*link) {
    parent = *link;
    link = v->start < to_vma(parent)->start ? &parent->left : &parent->right;
  }
  rb_link_node(&v->rb, parent, link);
  rb_insert_color(&v->rb, &root_);
  ++count_;
  total_pages_ += v->pages();
}

void VmaTree::erase(Vma* v) {
  rb_erase(&v->rb, &root_);
  --count_;
  total_pages_ -= v->pages();
  if (cache_ == v) cache_ = nullptr;
  alloc_.free(v);
}

Vma* VmaTree::split(Vma* v, uint64_t addr, Vma* spare) {
  spare->start = addr;
  spare->end = v->end;
  spare->flags = v->flags;
  spare->file = v->file;
  spare->pgoff = v->anonymous() ? 0 : v->pgoff + ((addr - v->start) >> kPageShift);
  total_pages_ -= (v->end - addr) >> kPageShift;
  v->end = addr;
  insert(spare);
  cache_ = nullptr;
  return spare;
}

Result<void> VmaTree::split_edges(uint64_t start, uint64_t end) {
  Vma* a = find_vma(start);
  if (a && !(a->start < start && start < a->end)) a = nullptr;
  Vma* b = find_vma(end);
  if (b && !(b->start < end && end < b->end)) b = nullptr;
  const size_t need = (a ? 1 : 0) + (b ? 1 : 0);
  if (need == 0) return {};
  // The limit counts VMAs that remain: cutting a hole in one VMA adds one
  // (Linux do_vmi_align_munmap), cutting two edges adds one each.
  const size_t net = (a && a == b) ? 1 : need;
  if (count_ + net > max_count_) return Errno::kENOMEM;
  Vma* spare[2] = {nullptr, nullptr};
  for (size_t i = 0; i < need; ++i) {
    spare[i] = alloc_.alloc();
    if (!spare[i]) {
      for (size_t j = 0; j < i; ++j) alloc_.free(spare[j]);
      return Errno::kENOMEM;
    }
  }
  size_t used = 0;
  if (a) split(a, start, spare[used++]);
  if (b) {
    b = find_vma(end);  // the upper half of `a` if a == b
    split(b, end, spare[used++]);
  }
  return {};
}

Vma* VmaTree::merge_around(Vma* v) {
  Vma* p = prev(v);
  if (p && can_merge(*p, *v)) {
    const uint64_t new_end = v->end;
    erase(v);
    total_pages_ += (new_end - p->end) >> kPageShift;
    p->end = new_end;
    v = p;
  }
  Vma* n = next(v);
  if (n && can_merge(*v, *n)) {
    const uint64_t new_end = n->end;
    erase(n);
    total_pages_ += (new_end - v->end) >> kPageShift;
    v->end = new_end;
  }
  cache_ = nullptr;
  return v;
}

Result<Vma*> VmaTree::map(uint64_t start, uint64_t end, const VmaProto& proto) {
  if (start >= end || !is_aligned(start | end, kPageSize)) return Errno::kEINVAL;
  Vma* next_vma = find_vma(start);
  if (next_vma && next_vma->start < end) return Errno::kEEXIST;
  Vma* prev_vma = next_vma ? prev(next_vma) : last();
  Vma probe;
  probe.start = start;
  probe.end = end;
  probe.flags = proto.flags;
  probe.file = proto.file;
  probe.pgoff = proto.file.identity ? proto.pgoff : 0;
  if (prev_vma && can_merge(*prev_vma, probe)) {
    total_pages_ += (end - prev_vma->end) >> kPageShift;
    prev_vma->end = end;
    return merge_around(prev_vma);
  }
  if (next_vma && can_merge(probe, *next_vma)) {
    total_pages_ += (next_vma->start - start) >> kPageShift;
    next_vma->start = start;
    next_vma->pgoff = probe.pgoff;
    cache_ = nullptr;
    return next_vma;
  }
  if (count_ >= max_count_) return Errno::kENOMEM;
  Vma* v = alloc_.alloc();
  if (!v) return Errno::kENOMEM;
  v->rb = RbNode{};
  v->start = start;
  v->end = end;
  v->flags = probe.flags;
  v->file = probe.file;
  v->pgoff = probe.pgoff;
  insert(v);
  return v;
}

Result<void> VmaTree::expand_down(Vma* v, uint64_t new_start) {
  if (!is_aligned(new_start, kPageSize) || new_start >= v->start || !v->anonymous())
    return Errno::kEINVAL;
  Vma* p = prev(v);
  if (p && p->end > new_start) return Errno::kENOMEM;
  total_pages_ += (v->start - new_start) >> kPageShift;
  v->start = new_start;
  cache_ = nullptr;
  return {};
}

Result<void> VmaTree::resize_end(Vma* v, uint64_t new_end) {
  if (!is_aligned(new_end, kPageSize) || new_end <= v->start) return Errno::kEINVAL;
  if (new_end > v->end) {
    Vma* n = next(v);
    if (n && n->start < new_end) return Errno::kENOMEM;
    total_pages_ += (new_end - v->end) >> kPageShift;
  } else {
    total_pages_ -= (v->end - new_end) >> kPageShift;
  }
  v->end = new_end;
  cache_ = nullptr;
  merge_around(v);
  return {};
}

Result<uint64_t> VmaTree::get_unmapped_area(uint64_t len, uint64_t low, uint64_t high,
                                            uint64_t guard) const {
  if (len == 0 || !is_aligned(len, kPageSize) || high <= low || high - low < len)
    return Errno::kENOMEM;
  // u: the VMA above the gap being looked at; v: the one below it.
  Vma* u = const_cast<VmaTree*>(this)->find_vma(high);
  Vma* v = u ? prev(u) : last();
  for (;;) {
    uint64_t gap_hi = u ? u->start : high;
    if (u && (u->flags & VM_GROWSDOWN)) gap_hi = gap_hi > guard ? gap_hi - guard : 0;
    if (gap_hi > high) gap_hi = high;
    uint64_t gap_lo = v ? v->end : 0;
    if (gap_lo < low) gap_lo = low;
    if (gap_hi > gap_lo && gap_hi - gap_lo >= len) return gap_hi - len;
    if (!v || v->end <= low) break;
    u = v;
    v = prev(v);
  }
  return Errno::kENOMEM;
}

const char* VmaTree::check() const {
  if (root_.node && root_.node->red) return "red root";
  if (rb_check(root_.node) < 0) return "red-black invariant broken";
  size_t n = 0;
  uint64_t pages = 0;
  const Vma* prev_vma = nullptr;
  for (const Vma* v = first(); v; v = next(v)) {
    if (v->start >= v->end) return "empty VMA";
    if (!is_aligned(v->start | v->end, kPageSize)) return "misaligned VMA";
    if (prev_vma && prev_vma->end > v->start) return "overlapping or unsorted VMAs";
    if (prev_vma && can_merge(*prev_vma, *v)) return "mergeable neighbours left apart";
    ++n;
    pages += v->pages();
    prev_vma = v;
  }
  if (n != count_) return "map count differs from the tree";
  if (pages != total_pages_) return "page total differs from the tree";
  if (count_ > max_count_) return "map count above the limit";
  return nullptr;
}

}  // namespace k
