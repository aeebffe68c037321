// The initramfs: a read-only in-memory file tree built from a cpio newc
// archive (lib/cpio.h), the root file system the user programs run from.
//
// Nodes are directories, regular files and symbolic links. Names and file
// contents are views into the archive (nothing is copied), so the archive
// must stay mapped for the life of the tree (the initrd is reserved in
// memblock and read through the linear map). Each Node is one allocation
// from the Allocator the tree was built with (kmalloc in the kernel).
//
// Entry names are normalised as Linux's init/initramfs.c sees them through
// path lookup: leading "/" and "./" and empty or "." components are dropped
// ("./bin/x" -> "/bin/x"); missing parent directories are created (0755); a
// later entry for an existing name replaces it (a directory keeps its
// children and takes the new metadata). Device nodes, FIFOs and sockets are
// skipped with a warning: nothing here can open them.
//
// Lookup follows POSIX path resolution (POSIX.1-2017 XBD 4.13): "." and
// ".." (".." of the root is the root), symbolic links anywhere in the path
// (absolute targets restart at the root), at most kMaxSymlinks of them per
// lookup (Linux MAXSYMLINKS) -> ELOOP, a trailing "/" requires a directory.
//
// The tree is immutable once built, so readers need no lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lib/cpio.h"
#include "lib/result.h"

namespace k::initramfs {

inline constexpr unsigned kMaxSymlinks = 40;  // Linux MAXSYMLINKS
inline constexpr size_t kPathMax = 4096;      // Linux PATH_MAX
inline constexpr size_t kNameMax = 255;       // Linux NAME_MAX

// d_type values for getdents64 (Linux include/linux/fs_types.h DT_*).
inline constexpr uint8_t kDtDir = 4;
inline constexpr uint8_t kDtReg = 8;
inline constexpr uint8_t kDtLnk = 10;

enum class NodeType : uint8_t { kDir, kFile, kSymlink };

struct Node {
  NodeType type = NodeType::kDir;
  std::string_view name;  // last path component; "/" for the root
  uint32_t mode = 0;      // S_IF* type bits | permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mtime = 0;
  uint64_t ino = 0;  // assigned by the tree; shared by hard links
  // File contents or symlink target, a view into the archive.
  std::span<const uint8_t> data;

  Node* parent = nullptr;       // the root's parent is itself
  Node* first_child = nullptr;  // directories: children sorted by name
  Node* next_sibling = nullptr;
  Node* next_link = this;   // ring of hard links to the same file
  uint32_t nr_subdirs = 0;  // directories: for nlink

  // Archive identity, for hard links (cpio(5): entries with the same c_ino
  // and c_dev are one file, whose data rides on one of them).
  uint32_t src_ino = 0;
  uint32_t src_dev_major = 0;
  uint32_t src_dev_minor = 0;
  bool src_multi = false;  // c_nlink > 1

  bool is_dir() const { return type == NodeType::kDir; }
  bool is_file() const { return type == NodeType::kFile; }
  bool is_symlink() const { return type == NodeType::kSymlink; }
};

// What fstat/newfstatat report (the syscall layer fills struct stat).
struct Stat {
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;  // directories: 2 + subdirectories; files: hard links
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units
  uint32_t blksize = 0;
  int64_t mtime = 0;
};

// Where nodes come from. The kernel passes kmalloc/kfree; host tests pass
// a counting malloc.
struct Allocator {
  void* (*alloc)(size_t size);
  void (*free)(void* p);
};

class Tree {
 public:
  Tree() = default;
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  ~Tree() { destroy(); }

  // Builds the tree from `archive` (replacing any previous contents). A
  // malformed archive is reported with pr_err (reason and offset) and leaves
  // an empty tree (the root alone); the error is EINVAL, or ENOMEM when a
  // node could not be allocated.
  Result<void> build(std::span<const uint8_t> archive, const Allocator& alloc);
  // Frees every node; the tree is empty afterwards.
  void destroy();

  const Node* root() const { return &root_; }
  // Nodes currently allocated (the root is not one of them).
  size_t node_count() const { return nodes_; }

  // Resolves `path` (absolute, or relative to `dir`; nullptr = the root).
  // The last component's symlink is followed if `follow` (Linux's
  // AT_SYMLINK_NOFOLLOW clears it). ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG.
  Result<const Node*> lookup(std::string_view path, bool follow = true,
                             const Node* dir = nullptr) const;

  // Copies up to `len` bytes of a file from `offset`; the count (0 at or
  // past the end). EISDIR for a directory, EINVAL for a symlink.
  Result<size_t> read(const Node* node, uint64_t offset, void* buf, size_t len) const;

  // Stat information of a node.
  Stat stat(const Node* node) const;

  // Directory entries from position `pos` for getdents64: 0 is ".", 1 is
  // "..", 2 + i the i-th child by name. `emit(name, ino, d_type, next_pos)`
  // returns false to stop (buffer full) and that entry is not consumed.
  // Returns the position to continue from; ENOTDIR if `dir` is not one.
  template <typename Emit>
  Result<uint64_t> readdir(const Node* dir, uint64_t pos, Emit&& emit) const;

  // Calls fn(const Node*) for each child of `dir`, in name order.
  template <typename Fn>
  static void for_each_child(const Node* dir, Fn&& fn) {
    for (const Node* c = dir->first_child; c; c = c->next_sibling) fn(c);
  }

  static uint8_t dirent_type(const Node* n) {
    return n->is_dir() ? kDtDir : n->is_symlink() ? kDtLnk : kDtReg;
  }

 private:
  Result<void> add_entry(const cpio::Entry& e, const char** why);
  Result<Node*> make_child(Node* dir, std::string_view name, NodeType type);
  Node* find_child(const Node* dir, std::string_view name) const;
  void free_subtree(Node* n);
  Result<const Node*> walk(std::string_view path, bool follow, const Node* dir,
                           unsigned* links) const;
  // Links `n` with an earlier file of the same archive inode, if any.
  void join_hard_links(Node* n);
  void unlink_hard_link(Node* n);
  Node* alloc_node();
  void free_node(Node* n);

  Node root_;
  Allocator alloc_{};
  size_t nodes_ = 0;
  uint64_t next_ino_ = 2;  // the root is 1
};

template <typename Emit>
Result<uint64_t> Tree::readdir(const Node* dir, uint64_t pos, Emit&& emit) const {
  if (!dir->is_dir()) return Errno::kENOTDIR;
  if (pos == 0) {
    if (!emit(std::string_view("."), dir->ino, kDtDir, uint64_t{1})) return pos;
    pos = 1;
  }
  if (pos == 1) {
    if (!emit(std::string_view(".."), dir->parent->ino, kDtDir, uint64_t{2})) return pos;
    pos = 2;
  }
  uint64_t i = 2;
  for (const Node* c = dir->first_child; c; c = c->next_sibling, ++i) {
    if (i < pos) continue;
    if (!emit(c->name, c->ino, dirent_type(c), i + 1)) return i;
    pos = i + 1;
  }
  return pos;
}

}  // namespace k::initramfs
