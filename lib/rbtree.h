// Intrusive red-black tree (Cormen et al., "Introduction to Algorithms",
// 3rd ed., chapter 13; the same shape as Linux's lib/rbtree.c API: the
// caller descends to the insertion point itself, links the node with
// rb_link_node() and rebalances with rb_insert_color()).
//
// No allocation and no comparison inside the tree: the object embeds an
// RbNode, the caller owns the ordering (STYLE.md "Intrusive containers").
// The invariants (root black, no red node with a red child, equal black
// height on every path) bound the height by 2*log2(n+1).
#pragma once

#include <cstddef>

namespace k {

struct RbNode {
  RbNode* parent = nullptr;
  RbNode* left = nullptr;
  RbNode* right = nullptr;
  bool red = false;
};

struct RbRoot {
  RbNode* node = nullptr;
  bool empty() const { return node == nullptr; }
};

// Links `node` as the child `*link` of `parent` (red, no children).
inline void rb_link_node(RbNode* node, RbNode* parent, RbNode** link) {
  node->parent = parent;
  node->left = node->right = nullptr;
  node->red = true;
  *link = node;
}

namespace rb_detail {

inline void replace_child(RbRoot* root, RbNode* parent, RbNode* old_child, RbNode* new_child) {
  if (!parent)
    root->node = new_child;
  else if (parent->left == old_child)
    parent->left = new_child;
  else
    parent->right = new_child;
}

inline void rotate_left(RbRoot* root, RbNode* x) {
  RbNode* y = x->right;
  x->right = y->left;
  if (y->left) y->left->parent = x;
  y->parent = x->parent;
  replace_child(root, x->parent, x, y);
  y->left = x;
  x->parent = y;
}

inline void rotate_right(RbRoot* root, RbNode* x) {
  RbNode* y = x->left;
  x->left = y->right;
  if (y->right) y->right->parent = x;
  y->parent = x->parent;
  replace_child(root, x->parent, x, y);
  y->right = x;
  x->parent = y;
}

inline bool is_red(const RbNode* n) { return n && n->red; }

}  // namespace rb_detail

// Restores the invariants after rb_link_node() (CLRS RB-INSERT-FIXUP).
inline void rb_insert_color(RbNode* z, RbRoot* root) {
  using namespace rb_detail;
  while (is_red(z->parent)) {
    RbNode* p = z->parent;
    RbNode* g = p->parent;  // exists: a red node is never the root
    if (p == g->left) {
      RbNode* u = g->right;
      if (is_red(u)) {
        p->red = u->red = false;
        g->red = true;
        z = g;
        continue;
      }
      if (z == p->right) {
        rotate_left(root, p);
        z = p;
        p = z->parent;
      }
      p->red = false;
      g->red = true;
      rotate_right(root, g);
    } else {
      RbNode* u = g->left;
      if (is_red(u)) {
        p->red = u->red = false;
        g->red = true;
        z = g;
        continue;
      }
      if (z == p->left) {
        rotate_right(root, p);
        z = p;
        p = z->parent;
      }
      p->red = false;
      g->red = true;
      rotate_left(root, g);
    }
  }
  root->node->red = false;
}

// Unlinks `z` and rebalances (CLRS RB-DELETE with RB-DELETE-FIXUP; the
// nil sentinel is replaced by tracking x's parent explicitly).
inline void rb_erase(RbNode* z, RbRoot* root) {
  using namespace rb_detail;
  RbNode* x;
  RbNode* x_parent;
  bool removed_red;
  if (!z->left || !z->right) {
    x = z->left ? z->left : z->right;
    x_parent = z->parent;
    removed_red = z->red;
    if (x) x->parent = z->parent;
    replace_child(root, z->parent, z, x);
  } else {
    RbNode* y = z->right;  // successor: leftmost of the right subtree
    while (y->left) y = y->left;
    removed_red = y->red;
    x = y->right;
    if (y->parent == z) {
      x_parent = y;
    } else {
      x_parent = y->parent;
      x_parent->left = x;
      if (x) x->parent = x_parent;
      y->right = z->right;
      y->right->parent = y;
    }
    replace_child(root, z->parent, z, y);
    y->parent = z->parent;
    y->left = z->left;
    y->left->parent = y;
    y->red = z->red;
  }
  z->parent = z->left = z->right = nullptr;
  if (removed_red) return;
  // x carries an extra black.
  while (x != root->node && !is_red(x)) {
    if (x == x_parent->left) {
      RbNode* w = x_parent->right;
      if (is_red(w)) {
        w->red = false;
        x_parent->red = true;
        rotate_left(root, x_parent);
        w = x_parent->right;
      }
      if (!is_red(w->left) && !is_red(w->right)) {
        w->red = true;
        x = x_parent;
        x_parent = x->parent;
      } else {
        if (!is_red(w->right)) {
          w->left->red = false;
          w->red = true;
          rotate_right(root, w);
          w = x_parent->right;
        }
        w->red = x_parent->red;
        x_parent->red = false;
        if (w->right) w->right->red = false;
        rotate_left(root, x_parent);
        x = root->node;
      }
    } else {
      RbNode* w = x_parent->left;
      if (is_red(w)) {
        w->red = false;
        x_parent->red = true;
        rotate_right(root, x_parent);
        w = x_parent->left;
      }
      if (!is_red(w->left) && !is_red(w->right)) {
        w->red = true;
        x = x_parent;
        x_parent = x->parent;
      } else {
        if (!is_red(w->left)) {
          w->right->red = false;
          w->red = true;
          rotate_left(root, w);
          w = x_parent->left;
        }
        w->red = x_parent->red;
        x_parent->red = false;
        if (w->left) w->left->red = false;
        rotate_right(root, x_parent);
        x = root->node;
      }
    }
  }
  if (x) x->red = false;
}

inline RbNode* rb_first(const RbRoot* root) {
  RbNode* n = root->node;
  if (!n) return nullptr;
  while (n->left) n = n->left;
  return n;
}

inline RbNode* rb_last(const RbRoot* root) {
  RbNode* n = root->node;
  if (!n) return nullptr;
  while (n->right) n = n->right;
  return n;
}

inline RbNode* rb_next(const RbNode* n) {
  if (n->right) {
    n = n->right;
    while (n->left) n = n->left;
    return const_cast<RbNode*>(n);
  }
  while (n->parent && n == n->parent->right) n = n->parent;
  return n->parent;
}

inline RbNode* rb_prev(const RbNode* n) {
  if (n->left) {
    n = n->left;
    while (n->right) n = n->right;
    return const_cast<RbNode*>(n);
  }
  while (n->parent && n == n->parent->left) n = n->parent;
  return n->parent;
}

// Black height of the subtree, or -1 if an invariant is broken (tests).
inline int rb_check(const RbNode* n, const RbNode* parent = nullptr) {
  if (!n) return 1;
  if (n->parent != parent) return -1;
  if (n->red && (rb_detail::is_red(n->left) || rb_detail::is_red(n->right))) return -1;
  const int l = rb_check(n->left, n);
  const int r = rb_check(n->right, n);
  if (l < 0 || r < 0 || l != r) return -1;
  return l + (n->red ? 0 : 1);
}

}  // namespace k
