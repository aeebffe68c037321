// virtio-mmio transport, modern (Version 2) register layout (Virtio 1.1
// spec 4.2.2). QEMU's virt machine exposes eight "virtio,mmio" slots;
// empty ones read DeviceID 0. QEMU 7.2 presents them as legacy (Version 1)
// unless started with `-global virtio-mmio.force-legacy=false`; legacy
// devices are reported and left alone.
#pragma once

#include <cstdint>

#include "drivers/base/device.h"
#include "drivers/virtio/virtqueue.h"
#include "lib/result.h"

namespace k {

// Spec 5: device types handled here.
inline constexpr uint32_t VIRTIO_ID_BLOCK = 2;
inline constexpr uint32_t VIRTIO_ID_RNG = 4;

// Spec 6: reserved feature bits.
inline constexpr unsigned VIRTIO_F_VERSION_1 = 32;
inline constexpr unsigned VIRTIO_F_ACCESS_PLATFORM = 33;

// Spec 2.1: device status bits.
inline constexpr uint32_t VIRTIO_STATUS_ACKNOWLEDGE = 1;
inline constexpr uint32_t VIRTIO_STATUS_DRIVER = 2;
inline constexpr uint32_t VIRTIO_STATUS_DRIVER_OK = 4;
inline constexpr uint32_t VIRTIO_STATUS_FEATURES_OK = 8;
inline constexpr uint32_t VIRTIO_STATUS_FAILED = 128;

struct VirtioDevice {
  Device* dev = nullptr;
  volatile uint8_t* regs = nullptr;
  uint32_t device_id = 0;
  uint64_t features = 0;  // negotiated
  unsigned irq = 0;
};

// Spec 3.1.1 steps 1-6: reset, ACKNOWLEDGE|DRIVER, negotiate `wanted`
// (VERSION_1 always; ACCESS_PLATFORM when offered: our DMA layer does the
// translation), FEATURES_OK. EIO if the device refuses.
Result<void> virtio_negotiate(VirtioDevice* vd, uint64_t wanted);
// Spec 4.2.3.2: creates queue `index` with up to `max_num` entries and
// tells the device where its rings are.
Result<Virtqueue*> virtio_setup_vq(VirtioDevice* vd, unsigned index, uint16_t max_num);
void virtio_driver_ok(VirtioDevice* vd);
// Resets the device (stops all DMA, spec 2.1.2) and marks it FAILED.
void virtio_fail(VirtioDevice* vd);
void virtio_reset(VirtioDevice* vd);
void virtio_notify(VirtioDevice* vd, unsigned queue);
// Reads and acknowledges InterruptStatus (bit 0 used buffer, bit 1 config).
uint32_t virtio_ack_interrupt(VirtioDevice* vd);
// Device-specific config space (spec 4.2.2 Config at 0x100), read with
// the ConfigGeneration retry of spec 2.4.1.
uint64_t virtio_config_read64(VirtioDevice* vd, unsigned offset);
uint32_t virtio_config_read32(VirtioDevice* vd, unsigned offset);
bool virtio_has_feature(const VirtioDevice* vd, unsigned bit);

// Device drivers (virtio_blk.cpp, virtio_rng.cpp): true if they took it.
bool virtio_blk_probe(VirtioDevice* vd);
bool virtio_rng_probe(VirtioDevice* vd);

}  // namespace k
