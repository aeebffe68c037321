// Block devices: a registry of named disks ("vda", "vdb", ...) with
// sector read/write/flush that any kernel code can use (the small end of
// Linux's block layer: no queueing, no page cache; drivers may still have
// several requests in flight).
//
//   BlockDevice* d = blkdev_lookup("vda");
//   TRY(blkdev_read(d, 0, buf, 8));   // 8 sectors from sector 0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/list.h"
#include "lib/result.h"

namespace k {

inline constexpr uint32_t kSectorSize = 512;

struct BlockDevice;

struct BlockDeviceOps {
  // count >= 1, already bounds-checked against nr_sectors and max_sectors.
  Result<void> (*read)(BlockDevice& dev, uint64_t sector, void* buf, uint32_t count);
  Result<void> (*write)(BlockDevice& dev, uint64_t sector, const void* buf, uint32_t count);
  Result<void> (*flush)(BlockDevice& dev);
};

struct BlockDevice {
  char name[16] = {};
  uint64_t nr_sectors = 0;     // capacity in 512-byte sectors
  uint32_t max_sectors = 256;  // per driver call; larger requests are split
  bool read_only = false;
  const BlockDeviceOps* ops = nullptr;
  void* priv = nullptr;
  ListNode link;
};

// EEXIST for a taken name, EINVAL without a name or ops.
Result<void> blkdev_register(BlockDevice* dev);
void blkdev_unregister(BlockDevice* dev);
BlockDevice* blkdev_lookup(std::string_view name);
size_t blkdev_count();
// The first free name with `prefix` ("vd" -> "vda", "vdb", ...).
void blkdev_make_name(const char* prefix, char (&out)[16]);

// ERANGE beyond the end, EINVAL for a null buffer, EROFS writing a
// read-only device, the driver's error otherwise. count 0 does nothing.
Result<void> blkdev_read(BlockDevice* dev, uint64_t sector, void* buf, uint64_t count);
Result<void> blkdev_write(BlockDevice* dev, uint64_t sector, const void* buf, uint64_t count);
Result<void> blkdev_flush(BlockDevice* dev);

}  // namespace k
