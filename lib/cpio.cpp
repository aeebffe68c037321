// cpio newc reader (see lib/cpio.h for the format and its sources).
#include "lib/cpio.h"

#include "lib/types.h"

namespace k::cpio {
namespace {

constexpr size_t kFieldChars = 8;
constexpr size_t kNumFields = 13;
constexpr size_t kMagicChars = 6;
static_assert(kMagicChars + kNumFields * kFieldChars == kHeaderSize);

// Field order in the header (cpio(5) "New ASCII Format").
enum Field : size_t {
  kIno,
  kMode,
  kUid,
  kGid,
  kNlink,
  kMtime,
  kFilesize,
  kDevMajor,
  kDevMinor,
  kRdevMajor,
  kRdevMinor,
  kNamesize,
  kCheck,
};

bool parse_hex8(const uint8_t* p, uint32_t* out) {
  uint32_t v = 0;
  for (size_t i = 0; i < kFieldChars; ++i) {
    const uint8_t c = p[i];
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = v << 4 | d;
  }
  *out = v;
  return true;
}

bool magic_is(const uint8_t* p, const char* m) { return __builtin_memcmp(p, m, kMagicChars) == 0; }

}  // namespace

Errno Reader::fail(uint64_t off, const char* why) {
  error_ = why;
  error_off_ = off;
  return Errno::kEINVAL;
}

Result<bool> Reader::next(Entry* out) {
  if (error_) return Errno::kEINVAL;
  const uint64_t size = buf_.size();
  const uint8_t* const b = buf_.data();
  for (;;) {
    if (!in_archive_) {
      // Between archives: NUL padding (buffer-format.rst), then end or a
      // new archive on a 4-byte boundary.
      while (pos_ < size && b[pos_] == 0) ++pos_;
      if (pos_ >= size) return false;
      if (pos_ & 3) return fail(pos_, "archive does not start on a 4-byte boundary");
    } else if (pos_ >= size) {
      return fail(size, "archive truncated: no TRAILER!!! entry");
    }

    const uint64_t hdr = pos_;
    if (size - hdr >= 2 && b[hdr] == 0x1f && b[hdr + 1] == 0x8b)
      return fail(hdr, "compressed (gzip) archive: only uncompressed newc is supported");
    if (size - hdr < kHeaderSize) return fail(hdr, "truncated entry header");
    const uint8_t* h = b + hdr;
    const bool crc = magic_is(h, "070702");
    if (!crc && !magic_is(h, "070701")) {
      if (magic_is(h, "070707"))
        return fail(hdr, "odc cpio format: only newc (070701) is supported");
      return fail(hdr, "bad magic (expected 070701 or 070702)");
    }
    uint32_t f[kNumFields];
    for (size_t i = 0; i < kNumFields; ++i)
      if (!parse_hex8(h + kMagicChars + i * kFieldChars, &f[i]))
        return fail(hdr, "non-hex character in a header field");

    const uint32_t namesize = f[kNamesize];
    if (namesize == 0) return fail(hdr, "name size 0 (must include the NUL)");
    if (namesize > kMaxNameSize) return fail(hdr, "name longer than PATH_MAX");
    const uint64_t name_off = hdr + kHeaderSize;
    if (size - name_off < namesize) return fail(hdr, "name extends past the end of the archive");
    const char* name = reinterpret_cast<const char*>(b + name_off);
    if (name[namesize - 1] != '\0') return fail(hdr, "name not NUL-terminated");
    if (__builtin_strlen(name) != namesize - 1) return fail(hdr, "NUL byte inside the name");
    if (namesize == 1) return fail(hdr, "empty name");

    // Offsets stay far below 2^64: the buffer is in memory and every term
    // added is at most 2^32 + 3.
    const uint64_t data_off = align_up(name_off + namesize, 4);
    const uint64_t filesize = f[kFilesize];
    if (data_off > size || size - data_off < filesize)
      return fail(hdr, "file data extends past the end of the archive");
    const std::span<const uint8_t> data(b + data_off, filesize);
    if (crc) {
      uint32_t sum = 0;
      for (uint8_t c : data) sum += c;
      if (sum != f[kCheck]) return fail(hdr, "data checksum mismatch (070702)");
    }
    pos_ = align_up(data_off + filesize, 4);

    const std::string_view sv(name, namesize - 1);
    if (sv == kTrailerName) {
      in_archive_ = false;
      continue;
    }
    in_archive_ = true;
    *out = Entry{sv,        f[kIno],      f[kMode],     f[kUid],       f[kGid],       f[kNlink],
                 f[kMtime], f[kDevMajor], f[kDevMinor], f[kRdevMajor], f[kRdevMinor], f[kCheck],
                 data,      hdr};
    ++count_;
    return true;
  }
}

Result<size_t> validate(std::span<const uint8_t> buf, const char** why, uint64_t* where) {
  Reader r(buf);
  Entry e;
  for (;;) {
    auto more = r.next(&e);
    if (!more.ok()) {
      if (why) *why = r.error();
      if (where) *where = r.error_offset();
      return more.error();
    }
    if (!*more) return r.count();
  }
}

}  // namespace k::cpio
