#include "drivers/virtio/virtio_mmio.h"

#include <arch/cpu.h>
#include <arch/io.h>
#include <arch/platform.h>

#include "drivers/driver.h"
#include "kernel/printk.h"
#include "mm/dma/dma_mapping.h"
#include "mm/ioremap.h"
#include "mm/kmalloc.h"

namespace k {
namespace {

// Spec 4.2.2 register offsets.
enum : unsigned {
  kMagic = 0x000,
  kVersion = 0x004,
  kDeviceId = 0x008,
  kDeviceFeatures = 0x010,
  kDeviceFeaturesSel = 0x014,
  kDriverFeatures = 0x020,
  kDriverFeaturesSel = 0x024,
  kQueueSel = 0x030,
  kQueueNumMax = 0x034,
  kQueueNum = 0x038,
  kQueueReady = 0x044,
  kQueueNotify = 0x050,
  kInterruptStatus = 0x060,
  kInterruptAck = 0x064,
  kStatus = 0x070,
  kQueueDescLow = 0x080,
  kQueueDescHigh = 0x084,
  kQueueDriverLow = 0x090,
  kQueueDriverHigh = 0x094,
  kQueueDeviceLow = 0x0a0,
  kQueueDeviceHigh = 0x0a4,
  kConfigGeneration = 0x0fc,
  kConfig = 0x100,
};
constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
constexpr uint64_t kRegSize = 0x200;

uint32_t rd(VirtioDevice* vd, unsigned off) { return arch::readl(vd->regs + off); }
void wr(VirtioDevice* vd, unsigned off, uint32_t v) { arch::writel(v, vd->regs + off); }

void write64(VirtioDevice* vd, unsigned lo, unsigned hi, uint64_t v) {
  wr(vd, lo, static_cast<uint32_t>(v));
  wr(vd, hi, static_cast<uint32_t>(v >> 32));
}

bool virtio_mmio_probe(const fdt::Fdt& fdt, const fdt::Node& node) {
  auto reg = fdt.reg_translated(node, 0);
  if (!reg || reg->size < kRegSize) return false;
  void* regs = ioremap(PhysAddr(reg->addr), kRegSize);
  if (!regs) return false;
  VirtioDevice probe_vd;
  probe_vd.regs = static_cast<volatile uint8_t*>(regs);
  const uint32_t magic = rd(&probe_vd, kMagic);
  const uint32_t version = rd(&probe_vd, kVersion);
  const uint32_t id = rd(&probe_vd, kDeviceId);
  if (magic != kMagicValue || id == 0) {  // empty slot
    iounmap(regs);
    return false;
  }
  if (version != 2) {
    pr_info(
        "virtio-mmio@%#llx: device %u uses the legacy interface (version %u); not supported "
        "(QEMU: -global virtio-mmio.force-legacy=false)\n",
        static_cast<unsigned long long>(reg->addr), id, version);
    iounmap(regs);
    return false;
  }
  if (id != VIRTIO_ID_BLOCK && id != VIRTIO_ID_RNG) {
    iounmap(regs);
    return false;
  }
  auto dev = device_create(fdt, node);
  if (!dev) {
    iounmap(regs);
    return false;
  }
  auto* vd = static_cast<VirtioDevice*>(kzalloc(sizeof(VirtioDevice), GFP_KERNEL));
  if (!vd) {
    device_destroy(*dev);
    iounmap(regs);
    return false;
  }
  *vd = probe_vd;
  vd->dev = *dev;
  vd->device_id = id;
  vd->irq = (*dev)->nr_irqs ? (*dev)->irqs[0] : 0;
  (*dev)->driver_data = vd;
  // Virtio devices address all of memory through the platform's DMA view
  // (Linux virtio_mmio sets a 64-bit mask); dma-ranges still limit it.
  if (auto r = dma_set_mask_and_coherent(*dev, dma_bit_mask(64)); !r)
    pr_warn("%s: 64-bit DMA mask refused\n", (*dev)->name);
  const bool ok = id == VIRTIO_ID_BLOCK ? virtio_blk_probe(vd) : virtio_rng_probe(vd);
  if (!ok) {
    virtio_reset(vd);
    device_destroy(*dev);
    kfree(vd);
    iounmap(regs);
  }
  return ok;
}

const char* const kCompat[] = {"virtio,mmio", nullptr};

}  // namespace

bool virtio_has_feature(const VirtioDevice* vd, unsigned bit) { return (vd->features >> bit) & 1; }

void virtio_reset(VirtioDevice* vd) {
  wr(vd, kStatus, 0);
  // Spec 4.2.3.1: wait until the device reads back 0 (bounded).
  const uint64_t deadline = arch::read_time() + arch::timebase_hz();
  while (rd(vd, kStatus) != 0 && arch::read_time() < deadline) arch::cpu_relax();
}

void virtio_fail(VirtioDevice* vd) {
  virtio_reset(vd);
  wr(vd, kStatus, VIRTIO_STATUS_FAILED);
}

Result<void> virtio_negotiate(VirtioDevice* vd, uint64_t wanted) {
  virtio_reset(vd);
  if (rd(vd, kStatus) != 0) return Errno::kEIO;
  wr(vd, kStatus, VIRTIO_STATUS_ACKNOWLEDGE);
  wr(vd, kStatus, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  wr(vd, kDeviceFeaturesSel, 0);
  uint64_t offered = rd(vd, kDeviceFeatures);
  wr(vd, kDeviceFeaturesSel, 1);
  offered |= uint64_t{rd(vd, kDeviceFeatures)} << 32;
  if (!((offered >> VIRTIO_F_VERSION_1) & 1)) return Errno::kEIO;
  wanted |= uint64_t{1} << VIRTIO_F_VERSION_1;
  wanted |= offered & (uint64_t{1} << VIRTIO_F_ACCESS_PLATFORM);
  const uint64_t feats = offered & wanted;
  wr(vd, kDriverFeaturesSel, 0);
  wr(vd, kDriverFeatures, static_cast<uint32_t>(feats));
  wr(vd, kDriverFeaturesSel, 1);
  wr(vd, kDriverFeatures, static_cast<uint32_t>(feats >> 32));
  wr(vd, kStatus, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
  if (!(rd(vd, kStatus) & VIRTIO_STATUS_FEATURES_OK)) {
    virtio_fail(vd);
    return Errno::kEIO;
  }
  vd->features = feats;
  return {};
}

Result<Virtqueue*> virtio_setup_vq(VirtioDevice* vd, unsigned index, uint16_t max_num) {
  wr(vd, kQueueSel, index);
  if (rd(vd, kQueueReady) != 0) return Errno::kEBUSY;
  const uint32_t dev_max = rd(vd, kQueueNumMax);
  if (dev_max == 0) return Errno::kENOENT;
  uint32_t num = max_num < dev_max ? max_num : dev_max;
  while (num & (num - 1)) num &= num - 1;  // split rings: a power of two
  Virtqueue* vq = TRY(virtqueue_create(vd->dev, index, static_cast<uint16_t>(num)));
  wr(vd, kQueueNum, num);
  write64(vd, kQueueDescLow, kQueueDescHigh, virtqueue_desc_addr(vq).value());
  write64(vd, kQueueDriverLow, kQueueDriverHigh, virtqueue_avail_addr(vq).value());
  write64(vd, kQueueDeviceLow, kQueueDeviceHigh, virtqueue_used_addr(vq).value());
  wr(vd, kQueueReady, 1);
  return vq;
}

void virtio_driver_ok(VirtioDevice* vd) {
  wr(vd, kStatus, rd(vd, kStatus) | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_notify(VirtioDevice* vd, unsigned queue) {
  // writel orders the ring writes before the notification (fence w,o).
  wr(vd, kQueueNotify, queue);
}

uint32_t virtio_ack_interrupt(VirtioDevice* vd) {
  const uint32_t st = rd(vd, kInterruptStatus);
  if (st) wr(vd, kInterruptAck, st);
  return st;
}

uint32_t virtio_config_read32(VirtioDevice* vd, unsigned offset) {
  uint32_t gen, v;
  do {
    gen = rd(vd, kConfigGeneration);
    v = rd(vd, kConfig + offset);
  } while (gen != rd(vd, kConfigGeneration));
  return v;
}

uint64_t virtio_config_read64(VirtioDevice* vd, unsigned offset) {
  uint32_t gen, lo, hi;
  do {
    gen = rd(vd, kConfigGeneration);
    lo = rd(vd, kConfig + offset);
    hi = rd(vd, kConfig + offset + 4);
  } while (gen != rd(vd, kConfigGeneration));
  return (uint64_t{hi} << 32) | lo;
}

}  // namespace k

DECLARE_DRIVER(virtio_mmio, "virtio-mmio", k::kCompat, k::virtio_mmio_probe, 3);
