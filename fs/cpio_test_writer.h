// Test-only newc writer: builds small archives in memory for the initramfs
// self-tests and host tests (the same layout tools/mkcpio.py writes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/cpio.h"

namespace k::cpio::test {

class Writer {
 public:
  Writer(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap) {}

  // Appends one entry; false if it does not fit.
  bool add(std::string_view name, uint32_t mode, std::string_view data, uint32_t ino = 0,
           uint32_t nlink = 1, bool crc = false) {
    const size_t namesize = name.size() + 1;
    const size_t need = align4(align4(kHeaderSize + namesize) + data.size());
    if (cap_ - size_ < need) return false;
    uint32_t sum = 0;
    for (char c : data) sum += static_cast<uint8_t>(c);
    const uint32_t fields[13] = {ino ? ino : ++auto_ino_,
                                 mode,
                                 0,
                                 0,
                                 nlink,
                                 0,
                                 static_cast<uint32_t>(data.size()),
                                 0,
                                 0,
                                 0,
                                 0,
                                 static_cast<uint32_t>(namesize),
                                 crc ? sum : 0};
    uint8_t* p = buf_ + size_;
    const char* magic = crc ? "070702" : "070701";
    for (int i = 0; i < 6; ++i) *p++ = static_cast<uint8_t>(magic[i]);
    for (uint32_t f : fields)
      for (int s = 28; s >= 0; s -= 4)
        *p++ = static_cast<uint8_t>("0123456789abcdef"[(f >> s) & 15]);
    for (char c : name) *p++ = static_cast<uint8_t>(c);
    *p++ = 0;
    while ((p - buf_) & 3) *p++ = 0;
    for (char c : data) *p++ = static_cast<uint8_t>(c);
    while ((p - buf_) & 3) *p++ = 0;
    size_ = static_cast<size_t>(p - buf_);
    return true;
  }
  bool dir(std::string_view name) { return add(name, kSIfDir | 0755, {}); }
  bool file(std::string_view name, std::string_view data) {
    return add(name, kSIfReg | 0644, data);
  }
  bool symlink(std::string_view name, std::string_view target) {
    return add(name, kSIfLnk | 0777, target);
  }
  bool trailer() { return add(kTrailerName, 0, {}, 0xffffffff); }

  size_t size() const { return size_; }
  // Offset of the next header, for tests that corrupt a given entry.
  size_t offset() const { return size_; }

 private:
  static size_t align4(size_t v) { return (v + 3) & ~size_t{3}; }
  uint8_t* buf_;
  size_t cap_;
  size_t size_ = 0;
  uint32_t auto_ino_ = 100;
};

}  // namespace k::cpio::test
