// virtio-blk (Virtio 1.1 spec 5.2) over virtio-mmio: one request queue,
// several requests in flight, completion by interrupt (PLIC) with a
// polling fallback when interrupts are off or routed elsewhere. Each
// device is registered as a block device "vda", "vdb", ...
//
// Requests: a 16-byte header and the 1-byte status share one dma_pool
// block (coherent); the data buffer is a streaming mapping (bounced when
// the device cannot reach it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "drivers/block/blkdev.h"
#include "lib/result.h"
#include "lib/types.h"
#include "mm/dma/dma_mapping.h"

namespace k {

struct VirtioBlk;

// Spec 5.2.6: request types.
enum class BlkOp : uint32_t { kRead = 0, kWrite = 1, kFlush = 4 };

// One request; owned by the caller from submit until wait returns.
struct VirtioBlkReq {
  BlkOp op = BlkOp::kRead;
  void* buf = nullptr;
  uint32_t len = 0;
  DmaAddr data_dma;
  DmaAddr hdr_dma;
  void* hdr = nullptr;
  std::atomic<bool> done{false};
  uint8_t status = 0xff;
};

// Queues a request (read/write of `count` sectors into/from buf, which
// must be linear-map memory; flush ignores sector/buf/count). EBUSY when
// the ring is full, EIO on a dead device, ENOMEM when mapping fails.
Result<void> virtio_blk_submit(VirtioBlk* vb, VirtioBlkReq* req, BlkOp op, uint64_t sector,
                               void* buf, uint32_t count);
// Waits (wfi, or polling) for the request, unmaps its buffer and returns
// its status: EIO for a device error or a 30 s timeout (the device is then
// reset and marked dead), ENOSYS for an unsupported request.
Result<void> virtio_blk_wait(VirtioBlk* vb, VirtioBlkReq* req);

VirtioBlk* virtio_blk_of(BlockDevice* bdev);
Device* virtio_blk_device(VirtioBlk* vb);
unsigned virtio_blk_irq(VirtioBlk* vb);

struct VirtioBlkStats {
  uint64_t requests;
  uint64_t irq_completions;   // reaped in the interrupt handler
  uint64_t poll_completions;  // reaped by a polling waiter
  uint64_t vq_refused;        // buffers refused as unreachable
};
VirtioBlkStats virtio_blk_stats(VirtioBlk* vb);

}  // namespace k
