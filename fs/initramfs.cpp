// The initramfs tree (see fs/initramfs.h).
#include "fs/initramfs.h"

#include <new>

#include "kernel/printk.h"
#include "lib/types.h"

namespace k::initramfs {
namespace {

constexpr uint32_t kDefaultDirMode = cpio::kSIfDir | 0755;
constexpr size_t kSymlinkMax = kPathMax - 1;  // the target plus its NUL fit PATH_MAX

// Splits the next component off `path` starting at *pos, skipping slashes.
// Empty when the path is exhausted.
std::string_view next_component(std::string_view path, size_t* pos) {
  size_t i = *pos;
  while (i < path.size() && path[i] == '/') ++i;
  size_t j = i;
  while (j < path.size() && path[j] != '/') ++j;
  *pos = j;
  return std::string_view(path.data() + i, j - i);
}

// True if only slashes remain from `pos` on.
bool only_slashes(std::string_view path, size_t pos) {
  for (; pos < path.size(); ++pos)
    if (path[pos] != '/') return false;
  return true;
}

}  // namespace

Node* Tree::alloc_node() {
  void* p = alloc_.alloc(sizeof(Node));
  if (!p) return nullptr;
  ++nodes_;
  return new (p) Node;
}

void Tree::free_node(Node* n) {
  n->~Node();
  alloc_.free(n);
  --nodes_;
}

void Tree::destroy() {
  // Iterative post-order walk: an archive may nest directories thousands
  // deep, more than a kernel stack could recurse.
  Node* n = root_.first_child;
  while (n) {
    if (n->first_child) {
      n = n->first_child;
      continue;
    }
    Node* parent = n->parent;
    Node* next = n->next_sibling;
    parent->first_child = next;  // n is always its parent's first child here
    free_node(n);
    n = next ? next : (parent == &root_ ? nullptr : parent);
  }
  root_ = Node{};
  root_.type = NodeType::kDir;
  root_.name = "/";
  root_.mode = kDefaultDirMode;
  root_.ino = 1;
  root_.parent = &root_;
  root_.next_link = &root_;
  next_ino_ = 2;
}

Node* Tree::find_child(const Node* dir, std::string_view name) const {
  for (Node* c = dir->first_child; c; c = c->next_sibling) {
    if (c->name == name) return c;
    if (c->name > name) break;  // sorted
  }
  return nullptr;
}

Result<Node*> Tree::make_child(Node* dir, std::string_view name, NodeType type) {
  Node* n = alloc_node();
  if (!n) return Errno::kENOMEM;
  n->type = type;
  n->name = name;
  n->parent = dir;
  n->ino = next_ino_++;
  Node** link = &dir->first_child;
  while (*link && (*link)->name < name) link = &(*link)->next_sibling;
  n->next_sibling = *link;
  *link = n;
  if (type == NodeType::kDir) ++dir->nr_subdirs;
  return n;
}

void Tree::unlink_hard_link(Node* n) {
  if (n->next_link == n) return;
  Node* p = n->next_link;
  while (p->next_link != n) p = p->next_link;
  p->next_link = n->next_link;
  n->next_link = n;
  n->ino = next_ino_++;
}

void Tree::join_hard_links(Node* n) {
  // Pre-order walk for an earlier file with the same archive identity.
  const Node* c = root_.first_child;
  while (c) {
    if (c != n && c->is_file() && c->src_multi && c->src_ino == n->src_ino &&
        c->src_dev_major == n->src_dev_major && c->src_dev_minor == n->src_dev_minor) {
      Node* other = const_cast<Node*>(c);
      n->ino = other->ino;
      n->next_link = other->next_link;
      other->next_link = n;
      // The data is on whichever entry carries it (GNU cpio: the last).
      if (n->data.empty()) {
        n->data = other->data;
      } else {
        for (Node* p = n->next_link; p != n; p = p->next_link) p->data = n->data;
      }
      return;
    }
    if (c->first_child) {
      c = c->first_child;
      continue;
    }
    while (c != &root_ && !c->next_sibling) c = c->parent;
    c = c == &root_ ? nullptr : c->next_sibling;
  }
}

Result<void> Tree::add_entry(const cpio::Entry& e, const char** why) {
  NodeType type;
  switch (e.mode & cpio::kSIfMt) {
    case cpio::kSIfDir:
      type = NodeType::kDir;
      break;
    case cpio::kSIfReg:
      type = NodeType::kFile;
      break;
    case cpio::kSIfLnk:
      type = NodeType::kSymlink;
      break;
    case cpio::kSIfChr:
    case cpio::kSIfBlk:
    case cpio::kSIfIfo:
    case cpio::kSIfSock:
      pr_warn("initramfs: skipping special file %.*s (devices, FIFOs and sockets unsupported)\n",
              static_cast<int>(e.name.size()), e.name.data());
      return {};
    default:
      *why = "unknown file type in c_mode";
      return Errno::kEINVAL;
  }
  if (type == NodeType::kSymlink) {
    if (e.data.empty() || e.data.size() > kSymlinkMax) {
      *why = "symlink target empty or longer than PATH_MAX";
      return Errno::kEINVAL;
    }
    if (__builtin_memchr(e.data.data(), 0, e.data.size())) {
      *why = "NUL byte in a symlink target";
      return Errno::kEINVAL;
    }
  }

  // Walk/create the parents; `last` is the final component (empty: the
  // entry names the root itself, e.g. ".").
  Node* dir = &root_;
  std::string_view last;
  size_t pos = 0;
  for (;;) {
    std::string_view comp = next_component(e.name, &pos);
    if (comp.empty()) break;
    if (comp == ".") continue;
    if (comp == "..") {
      *why = "'..' in an entry name";
      return Errno::kEINVAL;
    }
    if (comp.size() > kNameMax) {
      *why = "path component longer than NAME_MAX";
      return Errno::kEINVAL;
    }
    if (!last.empty()) {
      Node* next = find_child(dir, last);
      if (!next) {
        next = TRY(make_child(dir, last, NodeType::kDir));
        next->mode = kDefaultDirMode;
      } else if (!next->is_dir()) {
        *why = "a parent of the entry is not a directory";
        return Errno::kEINVAL;
      }
      dir = next;
    }
    last = comp;
  }

  Node* n;
  if (last.empty()) {
    if (type != NodeType::kDir) {
      *why = "the root entry is not a directory";
      return Errno::kEINVAL;
    }
    n = &root_;
  } else if ((n = find_child(dir, last)) != nullptr) {
    // A later entry replaces an earlier one (Linux initramfs unlinks it);
    // a directory over a directory only updates the metadata.
    if (n->is_dir() && type != NodeType::kDir) {
      if (n->first_child) {
        *why = "entry replaces a non-empty directory";
        return Errno::kEINVAL;
      }
      --dir->nr_subdirs;
    } else if (!n->is_dir() && type == NodeType::kDir) {
      ++dir->nr_subdirs;
    }
    unlink_hard_link(n);
    n->type = type;
    n->data = {};
  } else {
    n = TRY(make_child(dir, last, type));
  }
  n->mode = e.mode;
  n->uid = e.uid;
  n->gid = e.gid;
  n->mtime = e.mtime;
  if (type != NodeType::kDir) n->data = e.data;  // a directory's body means nothing
  if (type == NodeType::kFile && e.nlink > 1) {
    n->src_ino = e.ino;
    n->src_dev_major = e.devmajor;
    n->src_dev_minor = e.devminor;
    n->src_multi = true;
    join_hard_links(n);
  } else {
    n->src_multi = false;
  }
  return {};
}

Result<void> Tree::build(std::span<const uint8_t> archive, const Allocator& alloc) {
  destroy();
  alloc_ = alloc;
  cpio::Reader reader(archive);
  cpio::Entry e;
  for (;;) {
    auto more = reader.next(&e);
    if (!more.ok()) {
      pr_err("initramfs: malformed cpio archive at offset %llu: %s; using an empty tree\n",
             static_cast<unsigned long long>(reader.error_offset()), reader.error());
      destroy();
      return more.error();
    }
    if (!*more) break;
    const char* why = nullptr;
    auto added = add_entry(e, &why);
    if (!added.ok()) {
      pr_err("initramfs: entry \"%.*s\" at offset %llu: %s; using an empty tree\n",
             static_cast<int>(e.name.size()), e.name.data(),
             static_cast<unsigned long long>(e.offset), why ? why : errno_name(added.error()));
      destroy();
      return added.error();
    }
  }
  return {};
}

Result<const Node*> Tree::walk(std::string_view path, bool follow, const Node* dir,
                               unsigned* links) const {
  if (path.empty()) return Errno::kENOENT;
  if (path.size() >= kPathMax) return Errno::kENAMETOOLONG;
  const Node* cur = path[0] == '/' || !dir ? &root_ : dir;
  size_t pos = 0;
  for (;;) {
    std::string_view comp = next_component(path, &pos);
    if (comp.empty()) break;
    if (comp.size() > kNameMax) return Errno::kENAMETOOLONG;
    if (!cur->is_dir()) return Errno::kENOTDIR;
    if (comp == ".") continue;
    if (comp == "..") {
      cur = cur->parent;
      continue;
    }
    const Node* child = find_child(cur, comp);
    if (!child) return Errno::kENOENT;
    const bool last = only_slashes(path, pos);
    const bool trailing_slash = pos < path.size();
    if (child->is_symlink() && (!last || follow || trailing_slash)) {
      if (++*links > kMaxSymlinks) return Errno::kELOOP;
      const std::string_view target(reinterpret_cast<const char*>(child->data.data()),
                                    child->data.size());
      child = TRY(walk(target, true, cur, links));
    }
    cur = child;
  }
  if (path.back() == '/' && !cur->is_dir()) return Errno::kENOTDIR;
  return cur;
}

Result<const Node*> Tree::lookup(std::string_view path, bool follow, const Node* dir) const {
  unsigned links = 0;
  return walk(path, follow, dir, &links);
}

Result<size_t> Tree::read(const Node* node, uint64_t offset, void* buf, size_t len) const {
  if (node->is_dir()) return Errno::kEISDIR;
  if (!node->is_file()) return Errno::kEINVAL;
  const uint64_t size = node->data.size();
  if (offset >= size) return size_t{0};
  const size_t n = len < size - offset ? len : static_cast<size_t>(size - offset);
  __builtin_memcpy(buf, node->data.data() + offset, n);
  return n;
}

Stat Tree::stat(const Node* node) const {
  Stat st;
  st.ino = node->ino;
  st.mode = node->mode;
  st.uid = node->uid;
  st.gid = node->gid;
  st.mtime = node->mtime;
  st.blksize = static_cast<uint32_t>(kPageSize);
  if (node->is_dir()) {
    st.nlink = 2 + node->nr_subdirs;
    st.size = 0;
  } else {
    st.nlink = 1;
    for (const Node* p = node->next_link; p != node; p = p->next_link) ++st.nlink;
    st.size = node->data.size();
  }
  st.blocks = (st.size + 511) / 512;
  return st;
}

}  // namespace k::initramfs
