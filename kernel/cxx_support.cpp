// What the C++ runtime would provide in a hosted program and header-only
// library code may still reference: the throw helpers of libstdc++ (we
// build with -fno-exceptions, so reaching one is a kernel bug), and
// sub-word atomics, which RV64A lacks (A has only 32/64-bit AMOs) and GCC
// lowers to libatomic calls.
#include <cstddef>
#include <cstdint>

#include "kernel/panic.h"

namespace std {
[[noreturn]] void __throw_out_of_range_fmt(const char* fmt, ...) {
  k::panic("libstdc++: out of range (%s)", fmt);
}
[[noreturn]] void __throw_out_of_range(const char* what) { k::panic("libstdc++: %s", what); }
[[noreturn]] void __throw_length_error(const char* what) { k::panic("libstdc++: %s", what); }
[[noreturn]] void __throw_logic_error(const char* what) { k::panic("libstdc++: %s", what); }
[[noreturn]] void __throw_invalid_argument(const char* what) { k::panic("libstdc++: %s", what); }
[[noreturn]] void __throw_bad_optional_access() { k::panic("libstdc++: bad optional access"); }
[[noreturn]] void __throw_bad_array_new_length() { k::panic("libstdc++: bad array new length"); }
[[noreturn]] void __throw_bad_alloc() { k::panic("libstdc++: bad alloc"); }
}  // namespace std

extern "C" [[noreturn]] void __cxa_pure_virtual() { k::panic("pure virtual function called"); }

// Sub-word atomics as a compare-and-swap loop on the containing aligned
// 32-bit word (the same technique GCC's libatomic uses on RISC-V).
namespace {
template <typename T>
T subword_rmw(volatile void* p, T val, int kind) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  auto* word = reinterpret_cast<volatile uint32_t*>(addr & ~uintptr_t{3});
  const unsigned shift = (addr & 3) * 8;
  const uint32_t mask = ((uint32_t{1} << (sizeof(T) * 8)) - 1) << shift;
  uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    const T cur = static_cast<T>((old & mask) >> shift);
    T next = val;
    if (kind == 1)
      next = static_cast<T>(cur + val);
    else if (kind == 2)
      next = static_cast<T>(cur | val);
    else if (kind == 3)
      next = static_cast<T>(cur & val);
    const uint32_t neu = (old & ~mask) | ((static_cast<uint32_t>(next) << shift) & mask);
    if (__atomic_compare_exchange_n(word, &old, neu, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
      return cur;
  }
}
template <typename T>
bool subword_cas(volatile void* p, void* expected, T desired) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  auto* word = reinterpret_cast<volatile uint32_t*>(addr & ~uintptr_t{3});
  const unsigned shift = (addr & 3) * 8;
  const uint32_t mask = ((uint32_t{1} << (sizeof(T) * 8)) - 1) << shift;
  T* exp = static_cast<T*>(expected);
  uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    const T cur = static_cast<T>((old & mask) >> shift);
    if (cur != *exp) {
      *exp = cur;
      return false;
    }
    const uint32_t neu = (old & ~mask) | ((static_cast<uint32_t>(desired) << shift) & mask);
    if (__atomic_compare_exchange_n(word, &old, neu, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
      return true;
  }
}
}  // namespace

extern "C" {

uint8_t __atomic_exchange_1(volatile void* p, uint8_t v, int) {
  return subword_rmw<uint8_t>(p, v, 0);
}
uint16_t __atomic_exchange_2(volatile void* p, uint16_t v, int) {
  return subword_rmw<uint16_t>(p, v, 0);
}
uint8_t __atomic_fetch_add_1(volatile void* p, uint8_t v, int) {
  return subword_rmw<uint8_t>(p, v, 1);
}
uint16_t __atomic_fetch_add_2(volatile void* p, uint16_t v, int) {
  return subword_rmw<uint16_t>(p, v, 1);
}
uint8_t __atomic_fetch_or_1(volatile void* p, uint8_t v, int) {
  return subword_rmw<uint8_t>(p, v, 2);
}
uint8_t __atomic_fetch_and_1(volatile void* p, uint8_t v, int) {
  return subword_rmw<uint8_t>(p, v, 3);
}
bool __atomic_compare_exchange_1(volatile void* p, void* e, uint8_t d, bool, int, int) {
  return subword_cas<uint8_t>(p, e, d);
}
bool __atomic_compare_exchange_2(volatile void* p, void* e, uint16_t d, bool, int, int) {
  return subword_cas<uint16_t>(p, e, d);
}

}  // extern "C"
