#include "drivers/virtio/virtio_blk.h"

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/platform.h>

#include "drivers/virtio/virtio_mmio.h"
#include "kernel/irq.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/dma/dma_pool.h"
#include "mm/kmalloc.h"

namespace k {

namespace {

// Spec 5.2.3 feature bits; 5.2.4 config layout (capacity at 0).
constexpr unsigned VIRTIO_BLK_F_RO = 5;
constexpr unsigned VIRTIO_BLK_F_FLUSH = 9;
// Spec 5.2.6 status values.
constexpr uint8_t VIRTIO_BLK_S_OK = 0;
constexpr uint8_t VIRTIO_BLK_S_UNSUPP = 2;
constexpr uint16_t kQueueSize = 128;
// Linux blk-mq's default request timeout (30 s when the driver sets none).
// 5 s was too short under QEMU TCG on a loaded host: the soak saw requests
// complete late, and the device was then reset and lost for good.
constexpr uint64_t kTimeoutSeconds = 30;

struct [[gnu::packed]] BlkHdr {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
// Header at 0, status byte right after it, in one pool block.
constexpr size_t kStatusOffset = sizeof(BlkHdr);
constexpr size_t kHdrBlock = 32;

}  // namespace

struct VirtioBlk {
  VirtioDevice* vd = nullptr;
  Virtqueue* vq = nullptr;
  SpinLock lock;  // ring state; taken with IRQs off (the IRQ handler reaps)
  DmaPool* hdr_pool = nullptr;
  BlockDevice blk;
  bool irq_ok = false;
  std::atomic<bool> dead{false};
  std::atomic<uint64_t> requests{0}, irq_done{0}, poll_done{0};
};

namespace {

void reap_locked(VirtioBlk* vb, bool from_irq) {
  uint32_t len;
  while (void* token = virtqueue_get_buf(vb->vq, &len)) {
    auto* req = static_cast<VirtioBlkReq*>(token);
    req->status = *static_cast<volatile uint8_t*>(static_cast<uint8_t*>(req->hdr) + kStatusOffset);
    (from_irq ? vb->irq_done : vb->poll_done).fetch_add(1, std::memory_order_relaxed);
    req->done.store(true, std::memory_order_release);
  }
}

IrqReturn blk_irq(unsigned, void* data) {
  auto* vb = static_cast<VirtioBlk*>(data);
  const uint32_t st = virtio_ack_interrupt(vb->vd);
  if (!st) return IrqReturn::kNone;
  SpinLockGuard g(vb->lock);  // IRQs are already off in the handler
  reap_locked(vb, true);
  return IrqReturn::kHandled;
}

void release(VirtioBlk* vb, VirtioBlkReq* req) {
  if (req->len) {
    const auto dir = req->op == BlkOp::kRead ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
    dma_unmap_single(vb->vd->dev, req->data_dma, req->len, dir);
    req->len = 0;
  }
  if (req->hdr) {
    dma_pool_free(vb->hdr_pool, req->hdr, req->hdr_dma);
    req->hdr = nullptr;
  }
}

// Synchronous transfer of up to max_sectors; a buffer outside the linear
// map (a vmalloc'd stack, say) goes through a kmalloc'd copy.
Result<void> transfer(VirtioBlk* vb, BlkOp op, uint64_t sector, void* buf, uint32_t count) {
  void* dma_buf = buf;
  const size_t bytes = size_t{count} * kSectorSize;
  if (!arch::is_linear_addr(buf)) {
    dma_buf = kmalloc(bytes, GFP_KERNEL);
    if (!dma_buf) return Errno::kENOMEM;
    if (op == BlkOp::kWrite) memcpy(dma_buf, buf, bytes);
  }
  VirtioBlkReq req;
  auto r = virtio_blk_submit(vb, &req, op, sector, dma_buf, count);
  if (r) r = virtio_blk_wait(vb, &req);
  if (dma_buf != buf) {
    if (r && op == BlkOp::kRead) memcpy(buf, dma_buf, bytes);
    kfree(dma_buf);
  }
  return r;
}

Result<void> blk_read(BlockDevice& d, uint64_t sector, void* buf, uint32_t count) {
  return transfer(static_cast<VirtioBlk*>(d.priv), BlkOp::kRead, sector, buf, count);
}
Result<void> blk_write(BlockDevice& d, uint64_t sector, const void* buf, uint32_t count) {
  return transfer(static_cast<VirtioBlk*>(d.priv), BlkOp::kWrite, sector, const_cast<void*>(buf),
                  count);
}
Result<void> blk_flush(BlockDevice& d) {
  auto* vb = static_cast<VirtioBlk*>(d.priv);
  if (!virtio_has_feature(vb->vd, VIRTIO_BLK_F_FLUSH)) return {};
  VirtioBlkReq req;
  TRY(virtio_blk_submit(vb, &req, BlkOp::kFlush, 0, nullptr, 0));
  return virtio_blk_wait(vb, &req);
}

const BlockDeviceOps kBlkOps{blk_read, blk_write, blk_flush};

}  // namespace

Result<void> virtio_blk_submit(VirtioBlk* vb, VirtioBlkReq* req, BlkOp op, uint64_t sector,
                               void* buf, uint32_t count) {
  if (!vb || !req) return Errno::kEINVAL;
  if (vb->dead.load()) return Errno::kEIO;
  if (op != BlkOp::kFlush && (!buf || count == 0)) return Errno::kEINVAL;
  req->op = op;
  req->buf = buf;
  req->len = 0;
  req->status = 0xff;
  req->done.store(false, std::memory_order_relaxed);
  req->hdr = dma_pool_alloc(vb->hdr_pool, GFP_KERNEL, &req->hdr_dma);
  if (!req->hdr) return Errno::kENOMEM;
  auto* hdr = static_cast<BlkHdr*>(req->hdr);
  hdr->type = static_cast<uint32_t>(op);
  hdr->reserved = 0;
  hdr->sector = op == BlkOp::kFlush ? 0 : sector;
  static_cast<uint8_t*>(req->hdr)[kStatusOffset] = 0xff;

  VqBuf bufs[3];
  unsigned n = 0;
  bufs[n++] = VqBuf{req->hdr_dma, sizeof(BlkHdr), false};
  if (op != BlkOp::kFlush) {
    const uint32_t len = count * kSectorSize;
    const auto dir = op == BlkOp::kRead ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
    req->data_dma = dma_map_single(vb->vd->dev, buf, len, dir);
    if (dma_mapping_error(vb->vd->dev, req->data_dma)) {
      release(vb, req);
      return Errno::kENOMEM;
    }
    req->len = len;
    bufs[n++] = VqBuf{req->data_dma, len, op == BlkOp::kRead};
  }
  bufs[n++] = VqBuf{req->hdr_dma + kStatusOffset, 1, true};
  Result<void> r;
  {
    IrqSpinLockGuard g(vb->lock);
    r = virtqueue_add(vb->vq, bufs, n, req);
  }
  if (!r) {
    release(vb, req);
    return r.error() == Errno::kENOSPC ? Errno::kEBUSY : r.error();
  }
  vb->requests.fetch_add(1, std::memory_order_relaxed);
  virtio_notify(vb->vd, 0);
  return {};
}

Result<void> virtio_blk_wait(VirtioBlk* vb, VirtioBlkReq* req) {
  if (!vb || !req || !req->hdr) return Errno::kEINVAL;
  const uint64_t deadline = arch::read_time() + kTimeoutSeconds * arch::timebase_hz();
  // Sleep in wfi only when this CPU will take the completion interrupt;
  // otherwise reap the used ring ourselves.
  const bool poll =
      !vb->irq_ok || !arch::irqs_enabled() || irq_cpu(vb->vd->irq) != arch::this_cpu();
  bool timed_out = false;
  while (!req->done.load(std::memory_order_acquire) && !vb->dead.load()) {
    if (poll) {
      IrqSpinLockGuard g(vb->lock);
      reap_locked(vb, false);
    } else {
      // wfi with SIE clear still wakes on a pending enabled interrupt
      // (Privileged spec 3.3.3), which is taken at irq_restore: no lost
      // wake-up between the check and the wfi.
      const unsigned long flags = arch::irq_save();
      if (!req->done.load(std::memory_order_acquire)) asm volatile("wfi");
      arch::irq_restore(flags);
      // Reap after every wake-up (the tick wakes us at least): the soak
      // caught this hart waiting out the whole timeout in wfi, its
      // completion in the used ring with no interrupt taken for it.
      IrqSpinLockGuard g(vb->lock);
      reap_locked(vb, false);
    }
    if (arch::read_time() > deadline) {
      timed_out = true;
      break;
    }
  }
  if (timed_out || (vb->dead.load() && !req->done.load())) {
    if (!vb->dead.exchange(true)) {
      pr_err("%s: request timed out; device reset and disabled\n", vb->blk.name);
      virtio_fail(vb->vd);  // stops all DMA: the buffers are ours again
    }
    release(vb, req);
    return Errno::kEIO;
  }
  release(vb, req);
  if (req->status == VIRTIO_BLK_S_OK) return {};
  return req->status == VIRTIO_BLK_S_UNSUPP ? Errno::kENOSYS : Errno::kEIO;
}

VirtioBlk* virtio_blk_of(BlockDevice* bdev) {
  return bdev && bdev->ops == &kBlkOps ? static_cast<VirtioBlk*>(bdev->priv) : nullptr;
}
Device* virtio_blk_device(VirtioBlk* vb) { return vb ? vb->vd->dev : nullptr; }
unsigned virtio_blk_irq(VirtioBlk* vb) { return vb && vb->irq_ok ? vb->vd->irq : 0; }

VirtioBlkStats virtio_blk_stats(VirtioBlk* vb) {
  return VirtioBlkStats{vb->requests.load(), vb->irq_done.load(), vb->poll_done.load(),
                        vb->vq->refused};
}

bool virtio_blk_probe(VirtioDevice* vd) {
  auto* vb = static_cast<VirtioBlk*>(kzalloc(sizeof(VirtioBlk), GFP_KERNEL));
  if (!vb) return false;
  new (vb) VirtioBlk();
  vb->vd = vd;
  auto fail = [&](const char* what) {
    pr_err("%s: virtio-blk: %s\n", vd->dev->name, what);
    if (vb->irq_ok) free_irq(vd->irq, vb);
    virtio_reset(vd);
    virtqueue_destroy(vb->vq);
    dma_pool_destroy(vb->hdr_pool);
    kfree(vb);
    return false;
  };
  if (!virtio_negotiate(vd, (uint64_t{1} << VIRTIO_BLK_F_RO) | (uint64_t{1} << VIRTIO_BLK_F_FLUSH)))
    return fail("feature negotiation failed");
  auto vq = virtio_setup_vq(vd, 0, kQueueSize);
  if (!vq) return fail("cannot set up the request queue");
  vb->vq = *vq;
  vb->hdr_pool = dma_pool_create("virtio-blk-hdr", vd->dev, kHdrBlock, 16, 0);
  if (!vb->hdr_pool) return fail("no memory for request headers");
  {
    // Populate the pool's first chunk now (it holds 128 headers, more
    // than the ring has room for), not during the first request.
    DmaAddr h;
    void* blk = dma_pool_alloc(vb->hdr_pool, GFP_KERNEL, &h);
    if (!blk) return fail("no memory for request headers");
    dma_pool_free(vb->hdr_pool, blk, h);
  }
  if (vd->irq) {
    if (auto r = request_irq(vd->irq, blk_irq, vb, vd->dev->name); r)
      vb->irq_ok = true;
    else
      pr_warn("%s: IRQ %u unavailable (%s); completions are polled\n", vd->dev->name, vd->irq,
              errno_name(r.error()));
  }
  virtio_driver_ok(vd);
  blkdev_make_name("vd", vb->blk.name);
  vb->blk.nr_sectors = virtio_config_read64(vd, 0);
  vb->blk.max_sectors = 256;
  vb->blk.read_only = virtio_has_feature(vd, VIRTIO_BLK_F_RO);
  vb->blk.ops = &kBlkOps;
  vb->blk.priv = vb;
  if (!blkdev_register(&vb->blk)) return fail("cannot register the block device");
  pr_info("%s: virtio-blk %s: %llu sectors (%llu MiB)%s%s, IRQ %u, queue %u\n", vd->dev->name,
          vb->blk.name, static_cast<unsigned long long>(vb->blk.nr_sectors),
          static_cast<unsigned long long>(vb->blk.nr_sectors >> 11),
          vb->blk.read_only ? ", ro" : "",
          virtio_has_feature(vd, VIRTIO_BLK_F_FLUSH) ? ", flush" : "", vd->irq, vb->vq->num);
  return true;
}

}  // namespace k
