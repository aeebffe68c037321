// On-target tests of the initramfs (suite `initramfs`): the tree built from
// the real initrd holds the user programs and their ELF headers validate;
// corrupted copies of an archive are rejected with an empty tree; every
// kmalloc'd node comes back when a tree is destroyed.
#include <cstring>

#include "fs/cpio_test_writer.h"
#include "fs/initramfs.h"
#include "fs/initramfs_boot.h"
#include "kernel/selftest.h"
#include "lib/elf.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"

namespace k::initramfs {
namespace {

// Sv39's user half: the smallest TASK_SIZE this kernel runs with.
constexpr elf::ElfLimits kLimits{uint64_t{1} << 38, 4096};
// Scratch archives live in whole pages (not kmalloc) so that the suite's
// free-page balance only sees what the tree itself allocated.
constexpr size_t kArchiveCap = 4096;

// A small archive exercising directories, files, symlinks and "./" names.
size_t make_sample(uint8_t* buf) {
  cpio::test::Writer w(buf, kArchiveCap);
  bool ok = w.dir("./bin") && w.file("./bin/prog", "PROGRAM") &&
            w.file("etc/hello.txt", "hello\n") && w.symlink("etc/motd", "hello.txt") &&
            w.symlink("loop", "loop") && w.trailer();
  return ok ? w.size() : 0;
}

// Builds `archive` into a scratch tree, checks the result and that
// destroying it returns every node.
bool builds(selftest::Context& t, std::span<const uint8_t> archive, size_t* nodes) {
  Tree tree;
  const bool ok = tree.build(archive, kmalloc_allocator()).ok();
  *nodes = tree.node_count();
  tree.destroy();
  KEXPECT_EQ(tree.node_count(), 0u);
  return ok;
}

// The nodes of a scratch tree come from kmalloc; once they are freed their
// slabs are empty but cached. Shrinking hands those pages back so that the
// suite's free-page balance (nothing_lost) sees real leaks only.
void release_empty_slabs() { (void)slab_nr_pages_shrunk(); }

}  // namespace

SELFTEST(initramfs, rootfs_holds_user_programs_with_valid_elf) {
  if (initrd_archive().empty()) return t.skip("no initrd (boot with -initrd build/initramfs.cpio)");
  const Tree& fs = rootfs();
  KEXPECT(fs.node_count() > 0);
  auto hello = fs.lookup("/bin/hello");
  KASSERT(hello.ok());
  KEXPECT((*hello)->is_file());
  // The ELF header through read(), then the whole image by reference.
  elf::Elf64_Ehdr eh;
  auto n = fs.read(*hello, 0, &eh, sizeof eh);
  KEXPECT(n.ok() && *n == sizeof eh);
  KEXPECT_EQ(eh.e_machine, elf::kEmRiscv);
  elf::ElfImage img;
  const char* why = nullptr;
  KEXPECT(elf::parse_elf((*hello)->data, kLimits, &img, &why).ok());
  if (why) t.diag("hello: %s", why);
  KEXPECT_EQ(img.type, elf::kEtExec);
  KEXPECT(img.nr_segments >= 2);
  KEXPECT(img.phdr_mapped);

  auto pie = fs.lookup("/bin/static_pie");
  KASSERT(pie.ok());
  KEXPECT(elf::parse_elf((*pie)->data, kLimits, &img).ok());
  KEXPECT(img.needs_load_bias);

  auto bad = fs.lookup("/bin/truncated_elf");
  KASSERT(bad.ok());
  KEXPECT(elf::parse_elf((*bad)->data, kLimits, &img).error() == Errno::kENOEXEC);

  auto motd = fs.lookup("/etc/motd");
  KEXPECT(motd.ok() && *motd == *fs.lookup("/etc/hello.txt"));
}

SELFTEST(initramfs, lookup_read_and_readdir_on_a_built_archive) {
  if (!slab_is_available()) return t.skip("kmalloc not initialised (kmem_cache_init)");
  uint8_t* buf = static_cast<uint8_t*>(__get_free_page(GFP_KERNEL));
  KASSERT(buf);
  const size_t size = make_sample(buf);
  KEXPECT(size > 0);
  Tree tree_storage;
  Tree* tree = &tree_storage;
  KEXPECT(tree->build({buf, size}, kmalloc_allocator()).ok());
  auto f = tree->lookup("/etc/../etc/./motd");
  KEXPECT(f.ok());
  char text[8] = {};
  if (f.ok()) KEXPECT(tree->read(*f, 1, text, sizeof text).value_or(0) == 5);
  KEXPECT(std::memcmp(text, "ello\n", 5) == 0);
  KEXPECT(tree->lookup("/loop").error() == Errno::kELOOP);
  KEXPECT(tree->lookup("/bin/prog/").error() == Errno::kENOTDIR);
  KEXPECT(tree->lookup("/nope").error() == Errno::kENOENT);
  unsigned entries = 0;
  auto end =
      tree->readdir(*tree->lookup("/etc"), 0, [&](std::string_view, uint64_t, uint8_t, uint64_t) {
        ++entries;
        return true;
      });
  KEXPECT(end.ok());
  KEXPECT_EQ(entries, 4u);  // . .. hello.txt motd
  KEXPECT(tree->node_count() > 0);
  tree->destroy();
  KEXPECT_EQ(tree->node_count(), 0u);
  free_page(buf);
  release_empty_slabs();
}

SELFTEST(initramfs, corrupted_archives_are_rejected_with_an_empty_tree) {
  if (!slab_is_available()) return t.skip("kmalloc not initialised (kmem_cache_init)");
  uint8_t* good = static_cast<uint8_t*>(__get_free_page(GFP_KERNEL));
  uint8_t* bad = static_cast<uint8_t*>(__get_free_page(GFP_KERNEL));
  KASSERT(good && bad);
  const size_t size = make_sample(good);
  size_t nodes = 0;
  KEXPECT(builds(t, {good, size}, &nodes));
  KEXPECT(nodes > 0);

  // The real initrd's first entry when there is one, else the sample.
  std::span<const uint8_t> src = initrd_archive();
  const size_t n = src.empty() ? size : (src.size() < kArchiveCap ? src.size() : kArchiveCap);
  const uint8_t* from = src.empty() ? good : src.data();

  struct Case {
    const char* name;
    size_t len;  // bytes of the copy to keep
    size_t at;   // byte to overwrite
    uint8_t value;
  } cases[] = {
      {"truncated", 200, 0, '0'},  // mid-entry
      {"bad magic", n, 5, '9'},
      {"bad hex", n, 6 + 3, 'z'},
      {"name overflow", n, 6 + 11 * 8, 'f'},  // c_namesize 0xf......
  };
  for (const Case& c : cases) {
    std::memcpy(bad, from, c.len);
    if (c.at < c.len) bad[c.at] = c.value;
    if (builds(t, {bad, c.len}, &nodes)) t.diag("%s: accepted", c.name);
    KEXPECT_EQ(nodes, 0u);
  }
  free_page(good);
  free_page(bad);
  release_empty_slabs();
}

}  // namespace k::initramfs
