#include "drivers/block/blkdev.h"

#include "kernel/printk.h"
#include "kernel/shell.h"
#include "lib/spinlock.h"
#include "lib/string.h"

namespace k {
namespace {

SpinLock g_blk_lock;  // registry; leaf
ListHead g_blkdevs;

BlockDevice* lookup_locked(std::string_view name) {
  BlockDevice* found = nullptr;
  g_blkdevs.for_each([&](ListNode* n) {
    BlockDevice* d = container_of(n, &BlockDevice::link);
    if (!found && name == d->name) found = d;
  });
  return found;
}

Result<void> check(BlockDevice* dev, uint64_t sector, const void* buf, uint64_t count) {
  if (!dev || !dev->ops || !buf) return Errno::kEINVAL;
  if (sector > dev->nr_sectors || count > dev->nr_sectors - sector) return Errno::kERANGE;
  return {};
}

}  // namespace

Result<void> blkdev_register(BlockDevice* dev) {
  if (!dev || !dev->ops || !dev->name[0] || !dev->ops->read || !dev->ops->write)
    return Errno::kEINVAL;
  IrqSpinLockGuard g(g_blk_lock);
  if (lookup_locked(dev->name)) return Errno::kEEXIST;
  g_blkdevs.push_back(&dev->link);
  return {};
}

void blkdev_unregister(BlockDevice* dev) {
  IrqSpinLockGuard g(g_blk_lock);
  if (dev && dev->link.linked()) dev->link.unlink();
}

BlockDevice* blkdev_lookup(std::string_view name) {
  IrqSpinLockGuard g(g_blk_lock);
  return lookup_locked(name);
}

size_t blkdev_count() {
  IrqSpinLockGuard g(g_blk_lock);
  return g_blkdevs.count();
}

void blkdev_make_name(const char* prefix, char (&out)[16]) {
  const size_t n = strlen(prefix) < 12 ? strlen(prefix) : 12;
  memcpy(out, prefix, n);
  IrqSpinLockGuard g(g_blk_lock);
  for (char c = 'a'; c <= 'z'; ++c) {
    out[n] = c;
    out[n + 1] = '\0';
    if (!lookup_locked(out)) return;
  }
}

Result<void> blkdev_read(BlockDevice* dev, uint64_t sector, void* buf, uint64_t count) {
  TRY(check(dev, sector, buf, count));
  auto* p = static_cast<uint8_t*>(buf);
  while (count) {
    const uint32_t n = count < dev->max_sectors ? static_cast<uint32_t>(count) : dev->max_sectors;
    TRY(dev->ops->read(*dev, sector, p, n));
    sector += n;
    count -= n;
    p += uint64_t{n} * kSectorSize;
  }
  return {};
}

Result<void> blkdev_write(BlockDevice* dev, uint64_t sector, const void* buf, uint64_t count) {
  TRY(check(dev, sector, buf, count));
  if (dev->read_only) return Errno::kEROFS;
  const auto* p = static_cast<const uint8_t*>(buf);
  while (count) {
    const uint32_t n = count < dev->max_sectors ? static_cast<uint32_t>(count) : dev->max_sectors;
    TRY(dev->ops->write(*dev, sector, p, n));
    sector += n;
    count -= n;
    p += uint64_t{n} * kSectorSize;
  }
  return {};
}

Result<void> blkdev_flush(BlockDevice* dev) {
  if (!dev || !dev->ops) return Errno::kEINVAL;
  if (!dev->ops->flush) return {};  // write-through device
  return dev->ops->flush(*dev);
}

}  // namespace k

SHELL_COMMAND(lsblk, "block devices: name, size, read-only") {
  k::g_blkdevs.for_each([](k::ListNode* n) {
    const k::BlockDevice* d = k::container_of(n, &k::BlockDevice::link);
    k::printk_raw("%-8s %10llu sectors (%llu MiB)%s\n", d->name,
                  static_cast<unsigned long long>(d->nr_sectors),
                  static_cast<unsigned long long>(d->nr_sectors * k::kSectorSize >> 20),
                  d->read_only ? " ro" : "");
  });
  return 0;
}
