// The C memory/string primitives the compiler may call implicitly
// (GCC emits memcpy/memset/memmove/memcmp for struct copies and clears even
// with -ffreestanding), plus the few string helpers the kernel uses.
#include <cstddef>
#include <cstdint>

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  // Word copies when both pointers share 8-byte alignment.
  if (((reinterpret_cast<uintptr_t>(d) ^ reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
    while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
      *d++ = *s++;
      --n;
    }
    auto* dw = reinterpret_cast<uint64_t*>(d);
    const auto* sw = reinterpret_cast<const uint64_t*>(s);
    for (; n >= 8; n -= 8) *dw++ = *sw++;
    d = reinterpret_cast<unsigned char*>(dw);
    s = reinterpret_cast<const unsigned char*>(sw);
  }
  while (n--) *d++ = *s++;
  return dst;
}

void* memset(void* dst, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto b = static_cast<unsigned char>(c);
  while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
    *d++ = b;
    --n;
  }
  const uint64_t w = 0x0101010101010101ull * b;
  auto* dw = reinterpret_cast<uint64_t*>(d);
  for (; n >= 8; n -= 8) *dw++ = w;
  d = reinterpret_cast<unsigned char*>(dw);
  while (n--) *d++ = b;
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dst;
  if (d < s || d >= s + n) return memcpy(dst, src, n);
  while (n--) d[n] = s[n];
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

size_t strnlen(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n]) ++n;
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

}  // extern "C"

extern "C" void* memchr(const void* s, int c, size_t n) {
  const auto* p = static_cast<const unsigned char*>(s);
  for (size_t i = 0; i < n; ++i)
    if (p[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p + i);
  return nullptr;
}
