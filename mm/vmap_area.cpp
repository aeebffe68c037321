// Free-area allocator for kernel virtual address space. See vmap_area.h.
#include "mm/vmap_area.h"

#include "lib/types.h"

namespace k {
namespace {

uint64_t max3(uint64_t a, uint64_t b, uint64_t c) {
  const uint64_t ab = a > b ? a : b;
  return ab > c ? ab : c;
}

// Recomputes n's augmented value from its children.
void update(VmapArea* n) {
  n->subtree_max_size = max3(n->area_size(), n->left ? n->left->subtree_max_size : 0,
                             n->right ? n->right->subtree_max_size : 0);
}

// Splits t into keys < key (l) and keys >= key (r).
void split(VmapArea* t, uint64_t key, VmapArea** l, VmapArea** r) {
  if (!t) {
    *l = *r = nullptr;
    return;
  }
  if (t->va_start < key) {
    split(t->right, key, &t->right, r);
    *l = t;
  } else {
    split(t->left, key, l, &t->left);
    *r = t;
  }
  update(t);
}

// Joins two treaps where every key of l is below every key of r.
VmapArea* merge(VmapArea* l, VmapArea* r) {
  if (!l) return r;
  if (!r) return l;
  if (l->prio > r->prio) {
    l->right = merge(l->right, r);
    update(l);
    return l;
  }
  r->left = merge(l, r->left);
  update(r);
  return r;
}

VmapArea* insert(VmapArea* root, VmapArea* n) {
  n->left = n->right = nullptr;
  update(n);
  VmapArea *l, *r;
  split(root, n->va_start, &l, &r);
  return merge(merge(l, n), r);
}

VmapArea* erase(VmapArea* t, uint64_t key) {
  if (!t) return nullptr;
  if (t->va_start == key) {
    VmapArea* m = merge(t->left, t->right);
    t->left = t->right = nullptr;
    return m;
  }
  if (key < t->va_start)
    t->left = erase(t->left, key);
  else
    t->right = erase(t->right, key);
  update(t);
  return t;
}

// The busy tree carries no augmented value, so its edits skip update()
// and recursion on the search path (vmalloc's fast path, issue 8):

// Splits t (keys < key to *l, >= key to *r) with no augmentation.
void split_plain(VmapArea* t, uint64_t key, VmapArea** l, VmapArea** r) {
  while (t) {
    if (t->va_start < key) {
      *l = t;
      l = &t->right;
      t = t->right;
    } else {
      *r = t;
      r = &t->left;
      t = t->left;
    }
  }
  *l = *r = nullptr;
}

// Joins l and r (every key of l below every key of r), no augmentation.
VmapArea* merge_plain(VmapArea* l, VmapArea* r) {
  VmapArea* root = nullptr;
  VmapArea** slot = &root;
  while (l && r) {
    if (l->prio > r->prio) {
      *slot = l;
      slot = &l->right;
      l = l->right;
    } else {
      *slot = r;
      slot = &r->left;
      r = r->left;
    }
  }
  *slot = l ? l : r;
  return root;
}

// Treap insertion: descend by key while the nodes outrank n, then n takes
// that subtree's place with the subtree split under it. Expected O(log n)
// steps and an O(1) split (Seidel and Aragon).
void insert_plain(VmapArea** root, VmapArea* n) {
  VmapArea** slot = root;
  while (*slot && (*slot)->prio > n->prio)
    slot = n->va_start < (*slot)->va_start ? &(*slot)->left : &(*slot)->right;
  split_plain(*slot, n->va_start, &n->left, &n->right);
  *slot = n;
}

void erase_plain(VmapArea** root, VmapArea* n) {
  VmapArea** slot = root;
  while (*slot && *slot != n)
    slot = n->va_start < (*slot)->va_start ? &(*slot)->left : &(*slot)->right;
  if (!*slot) return;
  *slot = merge_plain(n->left, n->right);
  n->left = n->right = nullptr;
}

// Refreshes the augmented values on the path to the node with `key` after
// that node's size changed in place (its order among its neighbours kept).
void update_path(VmapArea* t, uint64_t key) {
  if (!t) return;
  if (key < t->va_start)
    update_path(t->left, key);
  else if (key > t->va_start)
    update_path(t->right, key);
  update(t);
}

bool fits(const VmapArea* n, uint64_t size, uint64_t align, uint64_t* out) {
  const uint64_t nva = align_up(n->va_start, align);
  if (nva < n->va_start || nva > n->va_end || n->va_end - nva < size) return false;
  *out = nva;
  return true;
}

// Lowest-address fit, exhaustive but pruned by the augmented size.
VmapArea* find_any(VmapArea* t, uint64_t size, uint64_t align, uint64_t* nva) {
  if (!t || t->subtree_max_size < size) return nullptr;
  if (VmapArea* r = find_any(t->left, size, align, nva)) return r;
  if (fits(t, size, align, nva)) return t;
  return find_any(t->right, size, align, nva);
}

// Linux's find_vmap_lowest_match(): descend towards the lowest area of at
// least size + align - 1 bytes (which fits whatever its alignment), taking
// an area on the way that fits exactly. O(depth). Misses only areas that
// fit by lucky alignment; find_any() covers those.
VmapArea* find_lowest(VmapArea* t, uint64_t size, uint64_t align, uint64_t* nva) {
  const uint64_t length = size + align - 1;
  if (length < size) return nullptr;
  while (t) {
    if (t->left && t->left->subtree_max_size >= length) {
      t = t->left;
      continue;
    }
    if (fits(t, size, align, nva)) return t;
    if (t->right && t->right->subtree_max_size >= length) {
      t = t->right;
      continue;
    }
    return nullptr;
  }
  return nullptr;
}

VmapArea* find_exact(VmapArea* t, uint64_t key) {
  while (t && t->va_start != key) t = key < t->va_start ? t->left : t->right;
  return t;
}

// Largest va_start < key.
VmapArea* predecessor(VmapArea* t, uint64_t key) {
  VmapArea* best = nullptr;
  while (t) {
    if (t->va_start < key) {
      best = t;
      t = t->right;
    } else {
      t = t->left;
    }
  }
  return best;
}

// Smallest va_start >= key.
VmapArea* successor(VmapArea* t, uint64_t key) {
  VmapArea* best = nullptr;
  while (t) {
    if (t->va_start >= key) {
      best = t;
      t = t->left;
    } else {
      t = t->right;
    }
  }
  return best;
}

void walk(const VmapArea* t, void (*fn)(const VmapArea&, void*), void* ctx) {
  if (!t) return;
  walk(t->left, fn, ctx);
  fn(*t, ctx);
  walk(t->right, fn, ctx);
}

void clear_owner(VmapArea* n) {
  n->flags = 0;
  n->size = 0;
  n->addr = 0;
  n->page_ring = nullptr;
  n->nr_pages = 0;
  n->phys_addr = 0;
  n->caller = nullptr;
}

}  // namespace

VmapArea* VmapAllocator::new_node() {
  VmapArea* n = src_.alloc(src_.ctx);
  if (!n) return nullptr;
  *n = VmapArea{};
  // xorshift64 (Marsaglia 2003): priorities only need to be independent
  // of the keys.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  n->prio = rng_;
  return n;
}

void VmapAllocator::release_node(VmapArea* n) { src_.free(src_.ctx, n); }

bool VmapAllocator::init(uint64_t start, uint64_t end, VmapNodeSource src) {
  src_ = src;
  start_ = start;
  end_ = end;
  free_root_ = busy_root_ = nullptr;
  nr_busy_ = nr_free_ = free_bytes_ = 0;
  if (start >= end) return false;
  VmapArea* n = new_node();
  if (!n) return false;
  n->va_start = start;
  n->va_end = end;
  free_root_ = insert(nullptr, n);
  nr_free_ = 1;
  free_bytes_ = end - start;
  return true;
}

uint64_t VmapAllocator::largest_free() const {
  return free_root_ ? free_root_->subtree_max_size : 0;
}

VmapArea* VmapAllocator::alloc(uint64_t size, uint64_t align) {
  if (size == 0 || !is_aligned(size, kPageSize) || !is_pow2(align) || align < kPageSize)
    return nullptr;
  uint64_t nva = 0;
  VmapArea* f = find_lowest(free_root_, size, align, &nva);
  if (!f) f = find_any(free_root_, size, align, &nva);
  if (!f) return nullptr;

  const bool at_start = nva == f->va_start;
  const bool at_end = nva + size == f->va_end;
  VmapArea* busy = nullptr;
  VmapArea* right = nullptr;
  // Take every node this needs before changing anything.
  if (!(at_start && at_end)) {
    busy = new_node();
    if (!busy) return nullptr;
    if (!at_start && !at_end) {
      right = new_node();
      if (!right) {
        release_node(busy);
        return nullptr;
      }
    }
  }

  if (at_start && at_end) {
    free_root_ = erase(free_root_, f->va_start);
    --nr_free_;
    const uint64_t prio = f->prio;
    *f = VmapArea{};
    f->prio = prio;
    busy = f;
  } else if (at_start) {
    f->va_start += size;
    update_path(free_root_, f->va_start);
  } else if (at_end) {
    f->va_end = nva;
    update_path(free_root_, f->va_start);
  } else {
    right->va_start = nva + size;
    right->va_end = f->va_end;
    f->va_end = nva;
    update_path(free_root_, f->va_start);
    free_root_ = insert(free_root_, right);
    ++nr_free_;
  }
  free_bytes_ -= size;
  busy->va_start = nva;
  busy->va_end = nva + size;
  busy->left = busy->right = nullptr;
  insert_plain(&busy_root_, busy);
  ++nr_busy_;
  return busy;
}

VmapArea* VmapAllocator::find_busy(uint64_t va) const { return find_exact(busy_root_, va); }

VmapArea* VmapAllocator::find_busy_containing(uint64_t va) const {
  VmapArea* p = predecessor(busy_root_, va + 1);
  return p && va < p->va_end ? p : nullptr;
}

void VmapAllocator::free(VmapArea* a) {
  erase_plain(&busy_root_, a);
  --nr_busy_;
  free_bytes_ += a->area_size();
  VmapArea* prev = predecessor(free_root_, a->va_start);
  VmapArea* next = successor(free_root_, a->va_end);
  const bool join_prev = prev && prev->va_end == a->va_start;
  const bool join_next = next && next->va_start == a->va_end;
  if (join_prev && join_next) {
    prev->va_end = next->va_end;
    free_root_ = erase(free_root_, next->va_start);
    update_path(free_root_, prev->va_start);
    --nr_free_;
    release_node(next);
    release_node(a);
  } else if (join_prev) {
    prev->va_end = a->va_end;
    update_path(free_root_, prev->va_start);
    release_node(a);
  } else if (join_next) {
    next->va_start = a->va_start;
    update_path(free_root_, next->va_start);
    release_node(a);
  } else {
    clear_owner(a);
    free_root_ = insert(free_root_, a);
    ++nr_free_;
  }
}

void VmapAllocator::for_each_busy(void (*fn)(const VmapArea&, void*), void* ctx) const {
  walk(busy_root_, fn, ctx);
}
void VmapAllocator::for_each_free(void (*fn)(const VmapArea&, void*), void* ctx) const {
  walk(free_root_, fn, ctx);
}

namespace {

struct TreeCheck {
  bool ok = true;
  uint64_t count = 0;
  uint64_t bytes = 0;
};

// Returns the subtree's max size; checks BST order within (lo, hi], heap
// order and the augmented value.
uint64_t check_tree(const VmapArea* t, uint64_t lo, uint64_t hi, bool aug, TreeCheck& c) {
  if (!t) return 0;
  if (t->va_start < lo || t->va_end > hi || t->va_start >= t->va_end) c.ok = false;
  if (t->left && t->left->prio > t->prio) c.ok = false;
  if (t->right && t->right->prio > t->prio) c.ok = false;
  ++c.count;
  c.bytes += t->area_size();
  const uint64_t l = check_tree(t->left, lo, t->va_start, aug, c);
  const uint64_t r = check_tree(t->right, t->va_end, hi, aug, c);
  const uint64_t m = max3(t->area_size(), l, r);
  if (aug && t->subtree_max_size != m) c.ok = false;
  return m;
}

}  // namespace

bool VmapAllocator::check_invariants() const {
  TreeCheck fc, bc;
  check_tree(free_root_, start_, end_, true, fc);
  check_tree(busy_root_, start_, end_, false, bc);
  if (!fc.ok || !bc.ok) return false;
  if (fc.count != nr_free_ || bc.count != nr_busy_ || fc.bytes != free_bytes_) return false;
  if (fc.bytes + bc.bytes != end_ - start_) return false;
  // Free areas never touch each other (merging is immediate).
  struct Adj {
    uint64_t prev_end = 0;
    bool first = true;
    bool ok = true;
  } adj;
  walk(
      free_root_,
      [](const VmapArea& a, void* p) {
        auto* s = static_cast<Adj*>(p);
        if (!s->first && s->prev_end >= a.va_start) s->ok = false;
        s->first = false;
        s->prev_end = a.va_end;
      },
      &adj);
  // Disjoint trees whose byte counts add up to the range tile it exactly;
  // check busy areas do not overlap free ones.
  struct Overlap {
    const VmapArea* free_root;
    bool ok = true;
  } ov{free_root_};
  walk(
      busy_root_,
      [](const VmapArea& a, void* p) {
        auto* s = static_cast<Overlap*>(p);
        const VmapArea* f = predecessor(const_cast<VmapArea*>(s->free_root), a.va_end);
        if (f && f->va_end > a.va_start) s->ok = false;
      },
      &ov);
  return adj.ok && ov.ok;
}

}  // namespace k
