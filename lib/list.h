// Intrusive doubly-linked circular list (STYLE.md: intrusive containers, no
// hidden allocation). A ListNode embedded in an object links it; ListHead is
// the sentinel. Same shape as Linux's struct list_head.
#pragma once

#include <cstddef>

namespace k {

struct ListNode {
  ListNode* next = this;
  ListNode* prev = this;

  bool linked() const { return next != this; }
  void unlink() {
    next->prev = prev;
    prev->next = next;
    next = prev = this;
  }
};

class ListHead {
 public:
  ListHead() = default;
  ListHead(const ListHead&) = delete;
  ListHead& operator=(const ListHead&) = delete;

  bool empty() const { return head_.next == &head_; }
  ListNode* first() const { return empty() ? nullptr : head_.next; }
  ListNode* last() const { return empty() ? nullptr : head_.prev; }
  const ListNode* sentinel() const { return &head_; }

  void push_front(ListNode* n) { insert_between(n, &head_, head_.next); }
  void push_back(ListNode* n) { insert_between(n, head_.prev, &head_); }
  ListNode* pop_front() {
    ListNode* n = first();
    if (n) n->unlink();
    return n;
  }
  // Reinitialises the sentinel; for objects placed in raw memory.
  void init() { head_.next = head_.prev = &head_; }

  template <typename F>
  void for_each(F&& f) const {
    for (ListNode *n = head_.next, *nx = n->next; n != &head_; n = nx, nx = n->next) f(n);
  }
  size_t count() const {
    size_t c = 0;
    for_each([&](ListNode*) { ++c; });
    return c;
  }

 private:
  static void insert_between(ListNode* n, ListNode* p, ListNode* nx) {
    n->prev = p;
    n->next = nx;
    p->next = n;
    nx->prev = n;
  }
  ListNode head_;
};

// Recovers the enclosing object from an embedded member pointer.
template <typename T, typename M>
T* container_of(M* member, M T::*field) {
  const auto offset = reinterpret_cast<size_t>(&(static_cast<T*>(nullptr)->*field));
  return reinterpret_cast<T*>(reinterpret_cast<char*>(member) - offset);
}

}  // namespace k
