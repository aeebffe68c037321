// lib/cpio: the newc reader on archives from tools/mkcpio.py, GNU cpio and
// the in-memory test writer, and on corrupt archives.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fs/cpio_test_writer.h"
#include "lib/cpio.h"

using namespace k;
using namespace k::cpio;
namespace fsys = std::filesystem;

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

struct Listed {
  bool ok = false;
  const char* why = nullptr;
  uint64_t where = 0;
  std::map<std::string, Entry> entries;
};

Listed list(const std::vector<uint8_t>& b) {
  Listed l;
  Reader r(std::span<const uint8_t>(b.data(), b.size()));
  Entry e;
  for (;;) {
    auto more = r.next(&e);
    if (!more.ok()) {
      l.why = r.error();
      l.where = r.error_offset();
      EXPECT_EQ(more.error(), Errno::kEINVAL);
      return l;
    }
    if (!*more) break;
    l.entries[std::string(e.name)] = e;
  }
  l.ok = true;
  return l;
}

std::string data_of(const Entry& e) { return std::string(e.data.begin(), e.data.end()); }

// A scratch tree: bin/prog (0755), etc/hello.txt, etc/motd -> hello.txt, empty/.
fsys::path make_tree() {
  fsys::path root = fsys::temp_directory_path() / ("cpio_test_" + std::to_string(getpid()));
  fsys::remove_all(root);
  fsys::create_directories(root / "bin");
  fsys::create_directories(root / "etc");
  fsys::create_directories(root / "empty");
  std::ofstream(root / "bin" / "prog") << std::string(1001, 'x');
  fsys::permissions(root / "bin" / "prog", fsys::perms(0755));
  std::ofstream(root / "etc" / "hello.txt") << "hello\n";
  fsys::create_symlink("hello.txt", root / "etc" / "motd");
  return root;
}

void check_tree_entries(const Listed& l) {
  ASSERT_TRUE(l.ok) << l.why;
  ASSERT_TRUE(l.entries.count("bin/prog"));
  const Entry& prog = l.entries.at("bin/prog");
  EXPECT_EQ(prog.mode & kSIfMt, kSIfReg);
  EXPECT_EQ(prog.mode & 0111, 0111u);
  EXPECT_EQ(data_of(prog), std::string(1001, 'x'));
  EXPECT_EQ(data_of(l.entries.at("etc/hello.txt")), "hello\n");
  EXPECT_EQ(l.entries.at("etc/motd").mode & kSIfMt, kSIfLnk);
  EXPECT_EQ(data_of(l.entries.at("etc/motd")), "hello.txt");
  EXPECT_EQ(l.entries.at("empty").mode & kSIfMt, kSIfDir);
}

}  // namespace

TEST(Cpio, MkcpioRoundTrip) {
  fsys::path root = make_tree();
  for (bool crc : {false, true}) {
    std::string out = root.string() + (crc ? ".crc.cpio" : ".cpio");
    std::string cmd = "python3 " REPO_ROOT "/tools/mkcpio.py --root " + root.string() + " --out " +
                      out + (crc ? " --crc" : "");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::vector<uint8_t> b = read_file(out);
    EXPECT_EQ(b.size() % 512, 0u);
    Listed l = list(b);
    check_tree_entries(l);
    EXPECT_EQ(l.entries.at("bin/prog").mtime, 0u);
    EXPECT_EQ(l.entries.at("bin/prog").uid, 0u);
    // Deterministic: the same tree gives the same bytes.
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_EQ(read_file(out), b);
    fsys::remove(out);
  }
  fsys::remove_all(root);
}

TEST(Cpio, GnuCpioNewcRoundTrip) {
  if (std::system("command -v cpio > /dev/null 2>&1") != 0) GTEST_SKIP() << "cpio not installed";
  fsys::path root = make_tree();
  std::string out = root.string() + ".gnu.cpio";
  std::string cmd =
      "cd " + root.string() + " && find . | LC_ALL=C sort | cpio --quiet -o -H newc > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::vector<uint8_t> b = read_file(out);
  Listed l = list(b);
  ASSERT_TRUE(l.ok) << l.why;
  // GNU cpio emits "." itself, strips the "./" of the rest and writes
  // upper-case hex.
  EXPECT_TRUE(l.entries.count("."));
  check_tree_entries(l);
  fsys::remove(out);
  fsys::remove_all(root);
}

TEST(Cpio, InitramfsFromTheBuildListsTheUserPrograms) {
  std::vector<uint8_t> b = read_file(INITRAMFS_CPIO);
  if (b.empty()) GTEST_SKIP() << INITRAMFS_CPIO << " not built";
  Listed l = list(b);
  ASSERT_TRUE(l.ok) << l.why;
  EXPECT_TRUE(l.entries.count("bin/hello"));
  EXPECT_TRUE(l.entries.count("bin/static_pie"));
  EXPECT_EQ(data_of(l.entries.at("etc/motd")), "hello.txt");
}

TEST(Cpio, EmptyAndPaddingOnlyBuffersHaveNoEntries) {
  std::vector<uint8_t> z(1024, 0);
  auto n = validate(std::span<const uint8_t>(z.data(), 0));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto m = validate(std::span<const uint8_t>(z.data(), z.size()));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 0u);
}

TEST(Cpio, ConcatenatedArchivesWithPadding) {
  std::vector<uint8_t> b(4096, 0);
  test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.file("a", "1") && w.trailer());
  // NUL padding between the archives, as Linux accepts.
  test::Writer w2(b.data() + w.size() + 512, b.size() - w.size() - 512);
  ASSERT_TRUE(w2.file("b", "22") && w2.trailer());
  b.resize(w.size() + 512 + w2.size() + 100);
  Listed l = list(b);
  ASSERT_TRUE(l.ok) << l.why;
  EXPECT_EQ(l.entries.size(), 2u);
  EXPECT_EQ(data_of(l.entries.at("b")), "22");
}

TEST(Cpio, ChecksumVariantIsVerified) {
  std::vector<uint8_t> b(1024, 0);
  test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.add("f", kSIfReg | 0644, "abc", 0, 1, true) && w.trailer());
  EXPECT_TRUE(list(b).ok);
  b[kHeaderSize + 4] ^= 1;  // one data byte ("f\0" + 2 pad, then data)
  Listed l = list(b);
  EXPECT_FALSE(l.ok);
  EXPECT_STREQ(l.why, "data checksum mismatch (070702)");
}

// Corruptions of a valid archive, each with the reason it must give.
struct Corruption {
  const char* name;
  void (*apply)(std::vector<uint8_t>&, size_t second);  // second = offset of entry 2
  const char* why;
};

const Corruption kCorruptions[] = {
    {"bad_magic", [](std::vector<uint8_t>& b, size_t) { b[5] = '9'; },
     "bad magic (expected 070701 or 070702)"},
    {"odc_magic", [](std::vector<uint8_t>& b, size_t) { b[5] = '7'; },
     "odc cpio format: only newc (070701) is supported"},
    {"gzip",
     [](std::vector<uint8_t>& b, size_t) {
       b[0] = 0x1f;
       b[1] = 0x8b;
     },
     "compressed (gzip) archive: only uncompressed newc is supported"},
    {"bad_hex", [](std::vector<uint8_t>& b, size_t s) { b[s + 6 + 8 + 3] = 'g'; },
     "non-hex character in a header field"},
    {"space_in_hex", [](std::vector<uint8_t>& b, size_t) { b[6 + 6 * 8 + 2] = ' '; },
     "non-hex character in a header field"},
    {"namesize_zero",
     [](std::vector<uint8_t>& b, size_t) { memcpy(&b[6 + 11 * 8], "00000000", 8); },
     "name size 0 (must include the NUL)"},
    {"namesize_huge",
     [](std::vector<uint8_t>& b, size_t) { memcpy(&b[6 + 11 * 8], "00001001", 8); },
     "name longer than PATH_MAX"},
    {"name_past_end",
     [](std::vector<uint8_t>& b, size_t s) { memcpy(&b[s + 6 + 11 * 8], "00000fff", 8); },
     "name extends past the end of the archive"},
    {"name_not_terminated",
     [](std::vector<uint8_t>& b, size_t) { memcpy(&b[6 + 11 * 8], "00000002", 8); },
     "name not NUL-terminated"},
    {"nul_in_name", [](std::vector<uint8_t>& b, size_t) { b[kHeaderSize + 1] = 0; },
     "NUL byte inside the name"},
    {"filesize_past_end",
     [](std::vector<uint8_t>& b, size_t s) { memcpy(&b[s + 6 + 6 * 8], "7fffffff", 8); },
     "file data extends past the end of the archive"},
    {"filesize_max", [](std::vector<uint8_t>& b, size_t) { memcpy(&b[6 + 6 * 8], "ffffffff", 8); },
     "file data extends past the end of the archive"},
    {"no_trailer", [](std::vector<uint8_t>& b, size_t s) { b.resize(s); },
     "archive truncated: no TRAILER!!! entry"},
    {"truncated_header", [](std::vector<uint8_t>& b, size_t s) { b.resize(s + 50); },
     "truncated entry header"},
    {"junk_after_trailer",
     [](std::vector<uint8_t>& b, size_t) {
       b.push_back(0);
       b.push_back(0);
       b.push_back(0);
       b.push_back(0);
       b.push_back('x');
     },
     nullptr /* any reason */},
    {"misaligned_second_archive",
     [](std::vector<uint8_t>& b, size_t) {
       b.push_back(0);
       b.insert(b.end(), b.begin(), b.begin() + 120);
     },
     "archive does not start on a 4-byte boundary"},
};

class CpioReject : public ::testing::TestWithParam<Corruption> {};

TEST_P(CpioReject, IsEinvalWithReason) {
  std::vector<uint8_t> b(4096, 0);
  test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.file("abc", "hello"));
  const size_t second = w.offset();
  ASSERT_TRUE(w.symlink("link", "abc") && w.trailer());
  b.resize(w.size());
  ASSERT_TRUE(list(b).ok);
  GetParam().apply(b, second);
  Listed l = list(b);
  ASSERT_FALSE(l.ok);
  ASSERT_NE(l.why, nullptr);
  if (GetParam().why) {
    EXPECT_STREQ(l.why, GetParam().why);
  }
  EXPECT_LE(l.where, b.size());
}

INSTANTIATE_TEST_SUITE_P(Corruptions, CpioReject, ::testing::ValuesIn(kCorruptions),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Cpio, EveryTruncationIsCleanlyRejected) {
  std::vector<uint8_t> b(4096, 0);
  test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.dir("d") && w.file("d/f", "0123456789") && w.symlink("l", "d/f") && w.trailer());
  b.resize(w.size());
  for (size_t n = 1; n < b.size() - 3; ++n) {
    std::vector<uint8_t> cut(b.begin(), b.begin() + n);
    // Cuts that end exactly where NUL padding starts after the trailer are fine.
    auto r = validate(std::span<const uint8_t>(cut.data(), cut.size()));
    if (n < b.size() - 12) {
      EXPECT_FALSE(r.ok()) << n;
    }
  }
}
