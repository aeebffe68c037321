// fs/initramfs: the tree built from cpio archives (normalisation, lookup,
// symlinks, readdir, stat, read), rejection of malformed archives, and that
// every node allocated comes back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fs/cpio_test_writer.h"
#include "fs/initramfs.h"
#include "lib/elf.h"

using namespace k;
using namespace k::initramfs;

namespace {

long g_live = 0;
void* count_alloc(size_t n) {
  ++g_live;
  return std::malloc(n);
}
void count_free(void* p) {
  --g_live;
  std::free(p);
}
const Allocator kCounting{count_alloc, count_free};

long g_fail_after = -1;  // allocations left before failing; -1 = never
void* failing_alloc(size_t n) {
  if (g_fail_after == 0) return nullptr;
  if (g_fail_after > 0) --g_fail_after;
  return count_alloc(n);
}
const Allocator kFailing{failing_alloc, count_free};

std::span<const uint8_t> span_of(const std::vector<uint8_t>& b) { return {b.data(), b.size()}; }

// ./ prefixes, a missing parent (usr/), a root ".", symlinks of all kinds,
// a hard-linked pair whose data rides on the second entry.
std::vector<uint8_t> sample() {
  std::vector<uint8_t> b(8192, 0);
  cpio::test::Writer w(b.data(), b.size());
  bool ok = w.add(".", cpio::kSIfDir | 0700, {}) && w.dir("./bin") &&
            w.file("./bin/prog", "PROGRAM") && w.file("etc/hello.txt", "hello world\n") &&
            w.symlink("etc/motd", "hello.txt") && w.symlink("etc/abs", "/etc/hello.txt") &&
            w.symlink("etc/up", "../bin") && w.symlink("loop1", "loop2") &&
            w.symlink("loop2", "loop1") && w.symlink("self", "self") &&
            w.file("usr/lib/deep/file", "deep") && w.add("hl1", cpio::kSIfReg | 0644, "", 77, 2) &&
            w.add("hl2", cpio::kSIfReg | 0644, "shared", 77, 2) &&
            w.add("dev/null", cpio::kSIfChr | 0666, {}) && w.trailer();
  EXPECT_TRUE(ok);
  b.resize(w.size());
  return b;
}

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_live = 0;
    archive_ = sample();
    ASSERT_TRUE(tree_.build(span_of(archive_), kCounting).ok());
  }
  void TearDown() override {
    tree_.destroy();
    EXPECT_EQ(g_live, 0);
    EXPECT_EQ(tree_.node_count(), 0u);
  }
  const Node* get(const char* path, bool follow = true) {
    auto r = tree_.lookup(path, follow);
    return r.ok() ? *r : nullptr;
  }
  Errno err(const char* path, bool follow = true) { return tree_.lookup(path, follow).error(); }

  std::vector<uint8_t> archive_;
  Tree tree_;
};

}  // namespace

TEST_F(TreeTest, NamesAreNormalisedAndParentsCreated) {
  ASSERT_NE(get("/bin/prog"), nullptr);
  EXPECT_TRUE(get("/bin/prog")->is_file());
  const Node* usr = get("/usr/lib");
  ASSERT_NE(usr, nullptr);
  EXPECT_TRUE(usr->is_dir());
  EXPECT_EQ(usr->mode, cpio::kSIfDir | 0755);
  EXPECT_EQ(tree_.root()->mode, cpio::kSIfDir | 0700);  // from the "." entry
  EXPECT_EQ(err("/dev/null"), Errno::kENOENT);          // devices are skipped
  EXPECT_EQ(static_cast<long>(tree_.node_count()), g_live);
}

TEST_F(TreeTest, DotDotAndRelativeLookups) {
  const Node* prog = get("/bin/prog");
  EXPECT_EQ(get("bin/prog"), prog);
  EXPECT_EQ(get("./bin/../bin/./prog"), prog);
  EXPECT_EQ(get("/../../bin/prog"), prog);  // ".." of the root is the root
  EXPECT_EQ(get("//bin///prog"), prog);
  EXPECT_EQ(get("/"), tree_.root());
  EXPECT_EQ(get("/usr/lib/deep/.."), get("/usr/lib"));
  const Node* etc = get("/etc");
  EXPECT_EQ(*tree_.lookup("hello.txt", true, etc), get("/etc/hello.txt"));
  EXPECT_EQ(*tree_.lookup("../bin/prog", true, etc), prog);
  EXPECT_EQ(*tree_.lookup("/bin/prog", true, etc), prog);
}

TEST_F(TreeTest, LookupErrors) {
  EXPECT_EQ(err(""), Errno::kENOENT);
  EXPECT_EQ(err("/nope"), Errno::kENOENT);
  EXPECT_EQ(err("/bin/prog/x"), Errno::kENOTDIR);
  EXPECT_EQ(err("/bin/prog/"), Errno::kENOTDIR);
  EXPECT_EQ(err("/bin/prog/."), Errno::kENOTDIR);
  EXPECT_EQ(err(std::string(300, 'a').c_str()), Errno::kENAMETOOLONG);
  std::string longpath;
  while (longpath.size() < kPathMax) longpath += "/bin";
  EXPECT_EQ(err(longpath.c_str()), Errno::kENAMETOOLONG);
}

TEST_F(TreeTest, SymlinksAreFollowed) {
  const Node* hello = get("/etc/hello.txt");
  EXPECT_EQ(get("/etc/motd"), hello);
  EXPECT_EQ(get("/etc/abs"), hello);
  EXPECT_EQ(get("/etc/up/prog"), get("/bin/prog"));
  EXPECT_EQ(get("/etc/up/"), get("/bin"));
  const Node* link = get("/etc/motd", false);
  ASSERT_NE(link, nullptr);
  EXPECT_TRUE(link->is_symlink());
  // A trailing slash follows even with nofollow.
  EXPECT_EQ(get("/etc/up/", false), get("/bin"));
}

TEST_F(TreeTest, SymlinkLoopsAreEloop) {
  EXPECT_EQ(err("/loop1"), Errno::kELOOP);
  EXPECT_EQ(err("/self"), Errno::kELOOP);
  EXPECT_EQ(err("/loop1/x"), Errno::kELOOP);
  EXPECT_NE(get("/loop1", false), nullptr);
}

TEST_F(TreeTest, ReadAtOffsets) {
  const Node* f = get("/etc/hello.txt");
  char buf[64] = {};
  EXPECT_EQ(*tree_.read(f, 0, buf, sizeof buf), 12u);
  EXPECT_EQ(std::string(buf, 12), "hello world\n");
  EXPECT_EQ(*tree_.read(f, 6, buf, 3), 3u);
  EXPECT_EQ(std::string(buf, 3), "wor");
  EXPECT_EQ(*tree_.read(f, 12, buf, 3), 0u);
  EXPECT_EQ(*tree_.read(f, ~uint64_t{0}, buf, 3), 0u);
  EXPECT_EQ(tree_.read(get("/etc"), 0, buf, 3).error(), Errno::kEISDIR);
  EXPECT_EQ(tree_.read(get("/etc/motd", false), 0, buf, 3).error(), Errno::kEINVAL);
  // Data is a view into the archive, not a copy.
  EXPECT_GE(f->data.data(), archive_.data());
  EXPECT_LT(f->data.data(), archive_.data() + archive_.size());
}

TEST_F(TreeTest, StatInfo) {
  Stat st = tree_.stat(get("/etc/hello.txt"));
  EXPECT_EQ(st.size, 12u);
  EXPECT_EQ(st.mode, cpio::kSIfReg | 0644);
  EXPECT_EQ(st.nlink, 1u);
  EXPECT_EQ(st.blocks, 1u);
  Stat root = tree_.stat(tree_.root());
  EXPECT_EQ(root.ino, 1u);
  EXPECT_EQ(root.nlink, 2u + 3u);  // bin, etc, usr (dev/null is skipped, dev never made)
  Stat link = tree_.stat(get("/etc/motd", false));
  EXPECT_EQ(link.size, 9u);
  EXPECT_EQ(link.mode & cpio::kSIfMt, cpio::kSIfLnk);
}

TEST_F(TreeTest, HardLinksShareDataAndInode) {
  const Node* a = get("/hl1");
  const Node* b = get("/hl2");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->ino, b->ino);
  char buf[16];
  EXPECT_EQ(*tree_.read(a, 0, buf, sizeof buf), 6u);
  EXPECT_EQ(std::string(buf, 6), "shared");
  EXPECT_EQ(tree_.stat(a).nlink, 2u);
}

TEST_F(TreeTest, ReaddirListsDotDotDotThenSortedChildrenAndResumes) {
  std::vector<std::string> names;
  std::vector<uint8_t> types;
  auto all = [&](std::string_view n, uint64_t, uint8_t t, uint64_t) {
    names.emplace_back(n);
    types.push_back(t);
    return true;
  };
  auto end = tree_.readdir(get("/etc"), 0, all);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "abs", "hello.txt", "motd", "up"}));
  EXPECT_EQ(types[3], kDtReg);
  EXPECT_EQ(types[2], kDtLnk);
  EXPECT_EQ(*end, 6u);
  // A full buffer after two entries: resume where it stopped.
  names.clear();
  int budget = 2;
  auto some = [&](std::string_view n, uint64_t, uint8_t, uint64_t) {
    if (budget-- == 0) return false;
    names.emplace_back(n);
    return true;
  };
  uint64_t pos = *tree_.readdir(get("/etc"), 0, some);
  EXPECT_EQ(pos, 2u);
  budget = 100;
  pos = *tree_.readdir(get("/etc"), pos, some);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "abs", "hello.txt", "motd", "up"}));
  EXPECT_EQ(tree_.readdir(get("/etc/hello.txt"), 0, all).error(), Errno::kENOTDIR);
  int n = 0;
  Tree::for_each_child(get("/usr"), [&](const Node* c) { n += c->name == "lib"; });
  EXPECT_EQ(n, 1);
}

TEST(Initramfs, LaterEntriesReplaceEarlierOnes) {
  g_live = 0;
  std::vector<uint8_t> b(4096, 0);
  cpio::test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.file("x", "old") && w.file("x", "new") && w.dir("d") && w.file("d/f", "1") &&
              w.add("d", cpio::kSIfDir | 0700, {}) && w.dir("e") && w.file("e", "file now") &&
              w.trailer());
  b.resize(w.size());
  Tree t;
  ASSERT_TRUE(t.build(span_of(b), kCounting).ok());
  char buf[16];
  EXPECT_EQ(*t.read(*t.lookup("/x"), 0, buf, 16), 3u);
  EXPECT_EQ(std::string(buf, 3), "new");
  EXPECT_EQ((*t.lookup("/d"))->mode, cpio::kSIfDir | 0700);
  EXPECT_TRUE(t.lookup("/d/f").ok());
  EXPECT_TRUE((*t.lookup("/e"))->is_file());
  EXPECT_EQ(t.stat(t.root()).nlink, 3u);  // "." ".." and d
  t.destroy();
  EXPECT_EQ(g_live, 0);
}

struct BadArchive {
  const char* name;
  void (*fill)(cpio::test::Writer&);
  const char* reason;
};

const BadArchive kBad[] = {
    {"dotdot", [](auto& w) { w.file("a/../../etc/passwd", "x"); }, "'..' in an entry name"},
    {"parent_is_file",
     [](auto& w) {
       w.file("a", "x");
       w.file("a/b", "y");
     },
     "a parent of the entry is not a directory"},
    {"replace_nonempty_dir",
     [](auto& w) {
       w.file("a/b", "x");
       w.file("a", "y");
     },
     "entry replaces a non-empty directory"},
    {"root_not_dir", [](auto& w) { w.file(".", "x"); }, "the root entry is not a directory"},
    {"unknown_type", [](auto& w) { w.add("x", 0170644, "x"); }, "unknown file type in c_mode"},
    {"empty_symlink", [](auto& w) { w.symlink("l", ""); },
     "symlink target empty or longer than PATH_MAX"},
    {"nul_in_symlink", [](auto& w) { w.symlink("l", std::string_view("a\0b", 3)); },
     "NUL byte in a symlink target"},
    {"long_component",
     [](auto& w) {
       static std::string n(256, 'n');
       w.file(n, "x");
     },
     "path component longer than NAME_MAX"},
};

class InitramfsReject : public ::testing::TestWithParam<BadArchive> {};

TEST_P(InitramfsReject, LeavesAnEmptyTreeAndFreesEverything) {
  g_live = 0;
  std::vector<uint8_t> b(4096, 0);
  cpio::test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.dir("first") && w.file("first/f", "keep?"));
  GetParam().fill(w);
  ASSERT_TRUE(w.trailer());
  b.resize(w.size());
  Tree t;
  EXPECT_EQ(t.build(span_of(b), kCounting).error(), Errno::kEINVAL);
  EXPECT_EQ(t.node_count(), 0u);
  EXPECT_EQ(g_live, 0);
  EXPECT_EQ(t.root()->first_child, nullptr);
  EXPECT_EQ(t.lookup("/first").error(), Errno::kENOENT);
}

INSTANTIATE_TEST_SUITE_P(Bad, InitramfsReject, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Initramfs, MalformedCpioGivesEmptyTree) {
  g_live = 0;
  std::vector<uint8_t> b = sample();
  b.resize(b.size() - 200);
  Tree t;
  EXPECT_EQ(t.build(span_of(b), kCounting).error(), Errno::kEINVAL);
  EXPECT_EQ(g_live, 0);
  EXPECT_EQ(t.root()->first_child, nullptr);
}

TEST(Initramfs, AllocationFailureAtEveryStepIsEnomemAndLeakFree) {
  std::vector<uint8_t> b = sample();
  for (long n = 0; n < 40; ++n) {
    g_live = 0;
    g_fail_after = n;
    Tree t;
    auto r = t.build(span_of(b), kFailing);
    g_fail_after = -1;
    if (r.ok()) {
      EXPECT_GE(n, static_cast<long>(t.node_count()));
      t.destroy();
      EXPECT_EQ(g_live, 0);
      break;
    }
    EXPECT_EQ(r.error(), Errno::kENOMEM);
    EXPECT_EQ(g_live, 0) << n;
  }
}

TEST(Initramfs, DeepNestingBuildsAndDestroysWithoutRecursion) {
  g_live = 0;
  std::string path;
  while (path.size() + 2 < 4000) path += path.empty() ? "d" : "/d";
  std::vector<uint8_t> b(8192, 0);
  cpio::test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.file(path + "/f", "x") && w.trailer());
  b.resize(w.size());
  Tree t;
  ASSERT_TRUE(t.build(span_of(b), kCounting).ok());
  EXPECT_TRUE(t.lookup("/" + path + "/f").ok());
  t.destroy();
  EXPECT_EQ(g_live, 0);
}

TEST(Initramfs, BuildTwiceReplacesTheOldTree) {
  g_live = 0;
  std::vector<uint8_t> b = sample();
  Tree t;
  ASSERT_TRUE(t.build(span_of(b), kCounting).ok());
  long first = g_live;
  ASSERT_TRUE(t.build(span_of(b), kCounting).ok());
  EXPECT_EQ(g_live, first);
}

TEST(Initramfs, TheBuiltInitramfsHoldsValidElfPrograms) {
  std::ifstream f(INITRAMFS_CPIO, std::ios::binary);
  std::vector<uint8_t> b{std::istreambuf_iterator<char>(f), {}};
  if (b.empty()) GTEST_SKIP() << INITRAMFS_CPIO << " not built";
  g_live = 0;
  Tree t;
  ASSERT_TRUE(t.build(span_of(b), kCounting).ok());
  const char* progs[] = {"hello",        "brk",
                         "mmap_sparse",  "map_fixed_noreplace",
                         "munmap_split", "mprotect_merge",
                         "faults",       "fork_cow",
                         "exec",         "stack_growth",
                         "efault",       "oom",
                         "fork_many",    "static_pie"};
  for (const char* p : progs) {
    auto n = t.lookup(std::string("/bin/") + p);
    ASSERT_TRUE(n.ok()) << p;
    EXPECT_EQ((*n)->mode & 0111, 0111u) << p;
    elf::ElfImage img;
    const char* why = nullptr;
    EXPECT_TRUE(elf::parse_elf((*n)->data, {uint64_t{1} << 38, 4096}, &img, &why).ok())
        << p << ": " << why;
  }
  auto bad = t.lookup("/bin/truncated_elf");
  ASSERT_TRUE(bad.ok());
  elf::ElfImage img;
  EXPECT_EQ(elf::parse_elf((*bad)->data, {uint64_t{1} << 38, 4096}, &img).error(), Errno::kENOEXEC);
  EXPECT_EQ(*t.lookup("/etc/motd"), *t.lookup("/etc/hello.txt"));
  t.destroy();
  EXPECT_EQ(g_live, 0);
}

TEST(Initramfs, FortySymlinksResolveAndTheFortyFirstIsEloop) {
  g_live = 0;
  std::vector<uint8_t> b(16384, 0);
  cpio::test::Writer w(b.data(), b.size());
  ASSERT_TRUE(w.file("target", "t"));
  // l0 -> target, l<i> -> l<i-1>: resolving l<i> follows i + 1 links.
  std::vector<std::string> names, targets;
  for (int i = 0; i < 41; ++i) {
    names.push_back("l" + std::to_string(i));
    targets.push_back(i == 0 ? "target" : "l" + std::to_string(i - 1));
  }
  for (int i = 0; i < 41; ++i) ASSERT_TRUE(w.symlink(names[i], targets[i]));
  ASSERT_TRUE(w.trailer());
  b.resize(w.size());
  Tree t;
  ASSERT_TRUE(t.build(span_of(b), kCounting).ok());
  EXPECT_EQ(*t.lookup("/l39"), *t.lookup("/target"));  // 40 links
  EXPECT_EQ(t.lookup("/l40").error(), Errno::kELOOP);  // 41 links
  t.destroy();
  EXPECT_EQ(g_live, 0);
}
