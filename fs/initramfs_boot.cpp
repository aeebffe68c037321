// Root file system instance (see fs/initramfs_boot.h).
#include "fs/initramfs_boot.h"

#include <arch/memory.h>

#include "kernel/printk.h"
#include "mm/kmalloc.h"

namespace k::initramfs {
namespace {

// Constructed in place by initramfs_init(): no global constructors in the
// kernel (preamble), and Tree's constructor only sets fields.
alignas(Tree) unsigned char g_tree_storage[sizeof(Tree)];
Tree* g_tree = nullptr;
std::span<const uint8_t> g_archive;

void* node_alloc(size_t size) { return kmalloc(size, GFP_KERNEL); }
void node_free(void* p) { kfree(p); }

constexpr Allocator kKmalloc{node_alloc, node_free};

Tree& tree() {
  if (!g_tree) g_tree = new (g_tree_storage) Tree;
  return *g_tree;
}

}  // namespace

const Allocator& kmalloc_allocator() { return kKmalloc; }

const Tree& rootfs() { return tree(); }

std::span<const uint8_t> initrd_archive() { return g_archive; }

void initramfs_init(std::optional<PhysRange> initrd) {
  Tree& t = tree();
  if (!initrd || initrd->size == 0) {
    pr_info("initramfs: no initrd, empty root file system\n");
    return;
  }
  g_archive = std::span<const uint8_t>(
      static_cast<const uint8_t*>(arch::phys_to_virt(initrd->base)), initrd->size);
  if (!t.build(g_archive, kKmalloc).ok()) return;  // build() said why
  pr_info("initramfs: %zu nodes from %llu bytes at %#llx\n", t.node_count(),
          static_cast<unsigned long long>(initrd->size),
          static_cast<unsigned long long>(initrd->base.value()));
}

}  // namespace k::initramfs
