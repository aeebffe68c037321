// On-target self-tests for lib/fdt: the blob this board booted with must
// parse and describe harts and RAM, and corrupted copies of it must be
// rejected cleanly (TESTING.md layer 3). Select with `selftest=fdt`.
#include <cstddef>
#include <cstdint>

#include "kernel/boot_info.h"
#include "kernel/selftest.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"

namespace k {
namespace {

using fdt::Fdt;
using fdt::ParseError;

// Scratch copy of the boot DTB (in .bss; QEMU's blobs are 4-8 KiB, board
// blobs rarely pass 64 KiB).
constexpr size_t kBufSize = 64 * 1024;
alignas(8) uint8_t g_buf[kBufSize];

// Spec 5.2 header field offsets.
constexpr uint32_t kHdrTotal = 4;
constexpr uint32_t kHdrOffStruct = 8;
constexpr uint32_t kHdrOffStrings = 12;
constexpr uint32_t kHdrSizeStrings = 32;
constexpr uint32_t kHdrSizeStruct = 36;

uint32_t get32(uint32_t off) {
  return (uint32_t{g_buf[off]} << 24) | (uint32_t{g_buf[off + 1]} << 16) |
         (uint32_t{g_buf[off + 2]} << 8) | g_buf[off + 3];
}

void put32(uint32_t off, uint32_t v) {
  g_buf[off] = static_cast<uint8_t>(v >> 24);
  g_buf[off + 1] = static_cast<uint8_t>(v >> 16);
  g_buf[off + 2] = static_cast<uint8_t>(v >> 8);
  g_buf[off + 3] = static_cast<uint8_t>(v);
}

// Copies the pristine boot DTB into g_buf; returns its size or 0 (test
// skipped) if it does not fit.
size_t fresh_copy(selftest::Context& t) {
  const auto* src = static_cast<const uint8_t*>(boot_dtb());
  const size_t size = boot_dtb_size();
  if (!src || size == 0) {
    t.skip("no boot DTB");
    return 0;
  }
  if (size > kBufSize) {
    t.skip("dtb larger than buffer");
    return 0;
  }
  for (size_t i = 0; i < size; ++i) g_buf[i] = src[i];
  return size;
}

// Parses g_buf[0..len) and expects a rejection with a reason.
bool rejected(selftest::Context& t, size_t len, const char* what) {
  ParseError err;
  auto f = Fdt::parse(g_buf, len, &err);
  if (f) return false;
  if (!err.what) return false;
  t.diag("%s: rejected: %s at %#x", what, err.what, err.offset);
  return true;
}

// Offsets (relative to the blob) of the root's first property's header.
struct FirstProp {
  uint32_t abs_off = 0;
  bool found = false;
};

FirstProp first_root_prop(size_t size) {
  FirstProp fp;
  auto f = Fdt::parse(g_buf, size);
  if (!f) return fp;
  f->root().for_each_prop([&](const fdt::Prop& p) {
    fp.abs_off = get32(kHdrOffStruct) + p.offset();
    fp.found = true;
    return false;
  });
  return fp;
}

}  // namespace

SELFTEST(fdt, boot_blob_parses_with_cpus_and_memory) {
  const size_t size = fresh_copy(t);
  if (!size) return;
  ParseError err;
  auto f = Fdt::parse(g_buf, size, &err);
  if (!f) t.diag("rejected: %s at %#x", err.what, err.offset);
  KASSERT(f.has_value());
  KEXPECT(f->total_size() <= size);
  KEXPECT(f->find("/cpus").has_value());
  KEXPECT(f->find("/chosen").has_value());

  unsigned harts = 0, usable = 0;
  fdt::for_each_hart(*f, [&](const fdt::HartInfo& h) {
    ++harts;
    if (h.okay && h.has_mmu) ++usable;
  });
  KEXPECT(harts > 0);
  KEXPECT(usable > 0);

  uint64_t ram = 0;
  fdt::for_each_memory_region(*f, [&](PhysRange r, int) { ram += r.size; });
  KEXPECT(ram > 0);
  KEXPECT(fdt::timebase_frequency(*f).has_value());
  t.diag("%u harts (%u with MMU), %llu MiB RAM", harts, usable,
         static_cast<unsigned long long>(ram >> 20));
}

SELFTEST(fdt, truncated_blob_is_rejected) {
  const size_t size = fresh_copy(t);
  if (!size) return;
  KEXPECT(rejected(t, 0, "empty"));
  KEXPECT(rejected(t, 3, "3 bytes"));
  KEXPECT(rejected(t, 39, "header only"));
  KEXPECT(rejected(t, size / 2, "half"));
  KEXPECT(rejected(t, size - 1, "one byte short"));
  // A consistent-looking header whose totalsize cuts the strings block.
  put32(kHdrTotal, get32(kHdrOffStrings) + 4);
  KEXPECT(rejected(t, size, "totalsize inside strings block"));
}

SELFTEST(fdt, bad_magic_is_rejected) {
  const size_t size = fresh_copy(t);
  if (!size) return;
  g_buf[0] ^= 0xff;
  KEXPECT(rejected(t, size, "bad magic"));
}

SELFTEST(fdt, struct_offset_out_of_range_is_rejected) {
  const size_t size = fresh_copy(t);
  if (!size) return;
  put32(kHdrOffStruct, get32(kHdrTotal) + 8);
  KEXPECT(rejected(t, size, "off_dt_struct past end"));
  fresh_copy(t);
  put32(kHdrOffStruct, get32(kHdrOffStruct) + 2);
  KEXPECT(rejected(t, size, "off_dt_struct misaligned"));
}

SELFTEST(fdt, unterminated_strings_are_rejected) {
  const size_t size = fresh_copy(t);
  if (!size) return;
  // The last byte of the strings block is the NUL of the last property
  // name; without it that name runs off the block.
  const uint32_t strings_end = get32(kHdrOffStrings) + get32(kHdrSizeStrings);
  KASSERT(strings_end >= 1 && strings_end <= size);
  KASSERT(g_buf[strings_end - 1] == 0);
  g_buf[strings_end - 1] = 'x';
  KEXPECT(rejected(t, size, "unterminated property name"));

  // Overwrite everything from the root's first child name to the end of
  // the structure block: that node name never ends.
  fresh_copy(t);
  auto f = Fdt::parse(g_buf, size);
  KASSERT(f.has_value());
  uint32_t name_off = 0;
  f->root().for_each_child([&](fdt::Node n) {
    name_off = get32(kHdrOffStruct) + n.offset() + 4;
    return false;
  });
  KASSERT(name_off != 0);
  const uint32_t struct_end = get32(kHdrOffStruct) + get32(kHdrSizeStruct);
  KASSERT(struct_end <= size);
  for (uint32_t i = name_off; i < struct_end; ++i) g_buf[i] = 'a';
  KEXPECT(rejected(t, size, "unterminated node name"));
}

SELFTEST(fdt, bad_property_header_is_rejected) {
  const size_t size = fresh_copy(t);
  if (!size) return;
  const FirstProp fp = first_root_prop(size);
  KASSERT(fp.found);
  // nameoff just past the strings block.
  put32(fp.abs_off + 8, get32(kHdrSizeStrings));
  KEXPECT(rejected(t, size, "nameoff past strings block"));
  // len running past the structure block.
  fresh_copy(t);
  put32(fp.abs_off + 4, 0xfffffff0);
  KEXPECT(rejected(t, size, "property length past end"));
  // And the pristine copy still parses (the corruptions were the cause).
  fresh_copy(t);
  KEXPECT(Fdt::parse(g_buf, size).has_value());
}

}  // namespace k
