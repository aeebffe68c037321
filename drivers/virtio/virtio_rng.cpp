#include "drivers/virtio/virtio_rng.h"

#include <atomic>

#include <arch/cpu.h>
#include <arch/platform.h>

#include "drivers/virtio/virtio_mmio.h"
#include "kernel/irq.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/dma/dma_mapping.h"
#include "mm/kmalloc.h"

namespace k {
namespace {

// One request at a time, into a buffer allocated at probe.
constexpr size_t kChunk = 256;

struct VirtioRng {
  VirtioDevice* vd = nullptr;
  Virtqueue* vq = nullptr;
  SpinLock lock;       // ring; IRQs off
  SpinLock user_lock;  // one reader at a time (hwrng_read)
  bool irq_ok = false;
  uint8_t* buf = nullptr;  // kChunk bytes, linear map; under user_lock
  std::atomic<bool> done{false};
  uint32_t got = 0;
  int token = 0;
};
std::atomic<VirtioRng*> g_rng{nullptr};

void reap_locked(VirtioRng* r) {
  uint32_t len;
  while (virtqueue_get_buf(r->vq, &len)) {
    r->got = len;
    r->done.store(true, std::memory_order_release);
  }
}

IrqReturn rng_irq(unsigned, void* data) {
  auto* r = static_cast<VirtioRng*>(data);
  if (!virtio_ack_interrupt(r->vd)) return IrqReturn::kNone;
  SpinLockGuard g(r->lock);
  reap_locked(r);
  return IrqReturn::kHandled;
}

}  // namespace

bool hwrng_present() { return g_rng.load() != nullptr; }

Result<size_t> hwrng_read(void* buf, size_t len) {
  VirtioRng* r = g_rng.load();
  if (!r) return Errno::kENODEV;
  if (!buf || len == 0) return Errno::kEINVAL;
  const size_t want = len < kChunk ? len : kChunk;
  SpinLockGuard user(r->user_lock);
  uint8_t* tmp = r->buf;
  Device* dev = r->vd->dev;
  const DmaAddr dma = dma_map_single(dev, tmp, want, DMA_FROM_DEVICE);
  if (dma_mapping_error(dev, dma)) return Errno::kENOMEM;
  r->done.store(false);
  r->got = 0;
  Result<void> added;
  {
    IrqSpinLockGuard g(r->lock);
    const VqBuf b{dma, static_cast<uint32_t>(want), true};
    added = virtqueue_add(r->vq, &b, 1, &r->token);
  }
  bool ok = added.ok();
  if (ok) {
    virtio_notify(r->vd, 0);
    const uint64_t deadline = arch::read_time() + arch::timebase_hz();
    const bool poll =
        !r->irq_ok || !arch::irqs_enabled() || irq_cpu(r->vd->irq) != arch::this_cpu();
    while (!r->done.load(std::memory_order_acquire)) {
      if (poll) {
        IrqSpinLockGuard g(r->lock);
        reap_locked(r);
      } else {
        const unsigned long f = arch::irq_save();
        if (!r->done.load(std::memory_order_acquire)) asm volatile("wfi");
        arch::irq_restore(f);
      }
      if (arch::read_time() > deadline) {
        // A device that keeps a buffer must be stopped before the buffer
        // is reused (spec 2.1.2); the rng is gone afterwards.
        pr_err("virtio-rng: timed out; device disabled\n");
        virtio_fail(r->vd);
        g_rng.store(nullptr);
        ok = false;
        break;
      }
    }
  }
  dma_unmap_single(dev, dma, want, DMA_FROM_DEVICE);
  size_t got = ok ? (r->got < want ? r->got : want) : 0;
  if (got) memcpy(buf, tmp, got);
  if (!ok) return added.ok() ? Errno::kEIO : added.error();
  if (!got) return Errno::kEIO;
  return got;
}

bool virtio_rng_probe(VirtioDevice* vd) {
  if (g_rng.load()) return false;  // one is enough
  auto* r = static_cast<VirtioRng*>(kzalloc(sizeof(VirtioRng), GFP_KERNEL));
  if (!r) return false;
  new (r) VirtioRng();
  r->vd = vd;
  r->buf = static_cast<uint8_t*>(kmalloc(kChunk, GFP_KERNEL));
  if (!r->buf || !virtio_negotiate(vd, 0)) {
    kfree(r->buf);
    kfree(r);
    return false;
  }
  auto vq = virtio_setup_vq(vd, 0, 8);
  if (!vq) {
    virtio_reset(vd);
    kfree(r->buf);
    kfree(r);
    return false;
  }
  r->vq = *vq;
  if (vd->irq && request_irq(vd->irq, rng_irq, r, vd->dev->name)) r->irq_ok = true;
  virtio_driver_ok(vd);
  g_rng.store(r);
  pr_info("%s: virtio-rng, IRQ %u%s\n", vd->dev->name, vd->irq, r->irq_ok ? "" : " (polled)");
  return true;
}

}  // namespace k
