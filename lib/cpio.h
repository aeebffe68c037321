// Reader for cpio "newc" archives, the initramfs format (Linux
// Documentation/driver-api/early-userspace/buffer-format.rst; cpio(5)).
//
// An entry is a 110-byte header of ASCII fields
//   c_magic[6]  "070701" (newc) or "070702" (newc with checksum)
//   c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor
//   c_devminor c_rdevmajor c_rdevminor c_namesize c_check   (8 hex digits each)
// followed by the NUL-terminated name (c_namesize bytes including the NUL),
// padded so the data starts on a 4-byte boundary, then c_filesize bytes of
// data padded to 4 bytes. The entry named "TRAILER!!!" ends an archive.
// Alignment is relative to the start of the buffer. As in Linux, archives may
// be concatenated and NUL padding may sit between and after them.
//
// Nothing is copied: names and data are views into the archive. Every field
// is validated before use; a malformed archive yields EINVAL with a reason
// and the offset of the bad entry, never a read outside the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lib/result.h"

namespace k::cpio {

inline constexpr size_t kHeaderSize = 110;
// Linux PATH_MAX: longer names are rejected rather than truncated.
inline constexpr uint32_t kMaxNameSize = 4096;
inline constexpr std::string_view kTrailerName = "TRAILER!!!";

// File type bits of c_mode (Linux uapi stat.h S_IF*).
inline constexpr uint32_t kSIfMt = 0170000;
inline constexpr uint32_t kSIfSock = 0140000;
inline constexpr uint32_t kSIfLnk = 0120000;
inline constexpr uint32_t kSIfReg = 0100000;
inline constexpr uint32_t kSIfBlk = 0060000;
inline constexpr uint32_t kSIfDir = 0040000;
inline constexpr uint32_t kSIfChr = 0020000;
inline constexpr uint32_t kSIfIfo = 0010000;

struct Entry {
  std::string_view name;  // without the NUL
  uint32_t ino = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint32_t mtime = 0;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  uint32_t rdevmajor = 0;
  uint32_t rdevminor = 0;
  uint32_t check = 0;
  std::span<const uint8_t> data;
  uint64_t offset = 0;  // of the header within the buffer
};

// Iterates the entries of one buffer (all concatenated archives in it).
//
//   cpio::Reader r(buf);
//   cpio::Entry e;
//   while (true) {
//     auto more = r.next(&e);
//     if (!more) { pr_err("... at %llu: %s", r.error_offset(), r.error()); break; }
//     if (!*more) break;   // end of the buffer
//     use(e);
//   }
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> buf) : buf_(buf) {}

  // true: *out holds the next entry (trailers are consumed, not returned).
  // false: the buffer ended cleanly, after a trailer. EINVAL: malformed; the
  // reader stays failed.
  Result<bool> next(Entry* out);

  const char* error() const { return error_; }
  uint64_t error_offset() const { return error_off_; }
  // Entries returned so far.
  size_t count() const { return count_; }

 private:
  Errno fail(uint64_t off, const char* why);

  std::span<const uint8_t> buf_;
  uint64_t pos_ = 0;
  bool in_archive_ = false;  // a header was read and no trailer yet
  const char* error_ = nullptr;
  uint64_t error_off_ = 0;
  size_t count_ = 0;
};

// Walks the whole buffer; the number of entries, or EINVAL with `why` and
// `where` (offset) set.
Result<size_t> validate(std::span<const uint8_t> buf, const char** why = nullptr,
                        uint64_t* where = nullptr);

}  // namespace k::cpio
