// libFuzzer target for lib/cpio and fs/initramfs: any bytes either parse
// (every name and data span inside the buffer) or give EINVAL with a
// reason; the tree built from them answers lookups and reads, and frees
// every node it allocated.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fs/initramfs.h"
#include "kernel/printk.h"
#include "lib/cpio.h"

using namespace k;

// The tree reports malformed archives with pr_err; the fuzzer discards it.
namespace k {
void printk(LogLevel, const char*, ...) {}
void vprintk(LogLevel, const char*, va_list) {}
}  // namespace k

namespace {
long g_live = 0;
void* fz_alloc(size_t n) {
  ++g_live;
  return malloc(n);
}
void fz_free(void* p) {
  --g_live;
  free(p);
}
bool inside(const void* p, size_t n, const uint8_t* b, size_t size) {
  auto a = static_cast<const uint8_t*>(p);
  return a >= b && a + n <= b + size;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cpio::Reader r(std::span<const uint8_t>(data, size));
  cpio::Entry e;
  std::string first_name;
  for (;;) {
    auto more = r.next(&e);
    if (!more.ok()) {
      if (more.error() != Errno::kEINVAL || !r.error() || r.error_offset() > size) abort();
      break;
    }
    if (!*more) break;
    if (!inside(e.name.data(), e.name.size() + 1, data, size)) abort();
    if (e.data.size() && !inside(e.data.data(), e.data.size(), data, size)) abort();
    if (first_name.empty()) first_name = std::string(e.name);
  }

  initramfs::Tree t;
  auto built = t.build(std::span<const uint8_t>(data, size), {fz_alloc, fz_free});
  if (!built.ok() && t.node_count() != 0) abort();
  if (!first_name.empty()) {
    auto n = t.lookup(first_name);
    if (n.ok()) {
      char buf[64];
      (void)t.read(*n, 0, buf, sizeof buf);
      (void)t.stat(*n);
      (void)t.readdir(*n, 0, [](std::string_view, uint64_t, uint8_t, uint64_t) { return true; });
    }
  }
  t.destroy();
  if (g_live != 0) abort();
  return 0;
}
