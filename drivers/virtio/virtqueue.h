// Split virtqueue (Virtio 1.1 spec 2.6 "Split Virtqueues"), driver side.
//
// The three rings live in one dma_alloc_coherent() allocation; buffers are
// bus addresses the caller got from streaming DMA maps. Every address put
// in a descriptor is checked against the device's DMA reach first (an
// address the device cannot reach is refused and counted: it would be a
// silent memory corruption on real hardware).
//
// Not locked: the owning driver serialises add/get (its lock is taken
// with IRQs off, because completions are reaped in interrupt context).
#pragma once

#include <cstddef>
#include <cstdint>

#include "drivers/base/device.h"
#include "lib/result.h"
#include "lib/types.h"

namespace k {

// Spec 2.6.5: descriptor flags.
inline constexpr uint16_t VIRTQ_DESC_F_NEXT = 1;
inline constexpr uint16_t VIRTQ_DESC_F_WRITE = 2;

struct VirtqDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct VirtqAvail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[];  // [num], then used_event
};
struct VirtqUsedElem {
  uint32_t id;
  uint32_t len;
};
struct VirtqUsed {
  uint16_t flags;
  uint16_t idx;
  VirtqUsedElem ring[];  // [num], then avail_event
};

struct VqBuf {
  DmaAddr addr;
  uint32_t len;
  bool device_writable;
};

struct Virtqueue {
  Device* dev = nullptr;
  unsigned index = 0;
  uint16_t num = 0;
  VirtqDesc* desc = nullptr;
  VirtqAvail* avail = nullptr;
  VirtqUsed* used = nullptr;
  void* ring_mem = nullptr;
  size_t ring_bytes = 0;
  DmaAddr ring_dma;
  DmaAddr desc_dma, avail_dma, used_dma;
  uint16_t free_head = 0;
  uint16_t num_free = 0;
  uint16_t last_used = 0;
  void** tokens = nullptr;  // [num], by head descriptor
  uint64_t refused = 0;     // buffers outside the device's reach
};

// Rings of `num` entries (power of two, spec 2.6) for dev. ENOMEM,
// EINVAL for a bad size or rings the device cannot reach.
Result<Virtqueue*> virtqueue_create(Device* dev, unsigned index, uint16_t num);
void virtqueue_destroy(Virtqueue* vq);

// Chains bufs[0..n) (device-readable ones first, spec 2.6.4.2) and makes
// them available with `token`. ENOSPC without free descriptors, EINVAL
// for n == 0, a null token or an unreachable address. The caller notifies
// the device afterwards.
Result<void> virtqueue_add(Virtqueue* vq, const VqBuf* bufs, unsigned n, void* token);
// The token of the next buffer the device used (and its written length),
// nullptr if none.
void* virtqueue_get_buf(Virtqueue* vq, uint32_t* len);
bool virtqueue_has_used(const Virtqueue* vq);

// Ring bus addresses, for the transport (spec 4.2.2 QueueDesc/Driver/Device).
inline DmaAddr virtqueue_desc_addr(const Virtqueue* vq) { return vq->desc_dma; }
inline DmaAddr virtqueue_avail_addr(const Virtqueue* vq) { return vq->avail_dma; }
inline DmaAddr virtqueue_used_addr(const Virtqueue* vq) { return vq->used_dma; }

}  // namespace k
