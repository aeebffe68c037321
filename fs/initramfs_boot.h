// The root file system instance: the initramfs tree built at boot from the
// initrd the boot loader passed (DT /chosen linux,initrd-start/end; QEMU
// -initrd; U-Boot booti with a ramdisk).
//
// The initrd stays where the loader put it: memblock reserves it
// (mm/boot_mem.cpp), so the page allocator never hands it out, and the tree
// reads names and file data through the linear map without copying.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "fs/initramfs.h"
#include "lib/types.h"

namespace k::initramfs {

// Builds the root tree from the initrd (nullopt or size 0: no initramfs,
// the tree is empty). Needs kmalloc, so call it after kmem_cache_init().
// Malformed archives are reported and leave an empty tree; boot goes on.
void initramfs_init(std::optional<PhysRange> initrd);

// The root file system (empty before initramfs_init or without an initrd).
const Tree& rootfs();

// The archive the tree was built from (empty if none), for self-tests.
std::span<const uint8_t> initrd_archive();

// Node allocation through kmalloc/kfree (GFP_KERNEL).
const Allocator& kmalloc_allocator();

}  // namespace k::initramfs
