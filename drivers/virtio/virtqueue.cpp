#include "drivers/virtio/virtqueue.h"

#include <new>

#include "kernel/printk.h"
#include "mm/dma/dma_mapping.h"
#include "mm/kmalloc.h"

namespace k {
namespace {

// Spec 2.6: the device reads the driver's writes in order; the fences
// are Linux's virt_wmb/virt_rmb/virt_mb for RISC-V.
inline void wmb() { asm volatile("fence w, w" ::: "memory"); }
inline void rmb() { asm volatile("fence r, r" ::: "memory"); }

volatile uint16_t& avail_idx(Virtqueue* vq) {
  return *const_cast<volatile uint16_t*>(&vq->avail->idx);
}
uint16_t used_idx(const Virtqueue* vq) {
  return *const_cast<const volatile uint16_t*>(&vq->used->idx);
}

}  // namespace

Result<Virtqueue*> virtqueue_create(Device* dev, unsigned index, uint16_t num) {
  if (!dev || num == 0 || (num & (num - 1)) || num > 32768) return Errno::kEINVAL;
  auto* vq = static_cast<Virtqueue*>(kzalloc(sizeof(Virtqueue), GFP_KERNEL));
  if (!vq) return Errno::kENOMEM;
  new (vq) Virtqueue();
  vq->dev = dev;
  vq->index = index;
  vq->num = num;
  // Spec 2.6 table: descriptor table 16-aligned, avail 2, used 4.
  const size_t desc_bytes = 16u * num;
  const size_t avail_bytes = 6 + 2u * num;
  const size_t used_off = align_up(desc_bytes + avail_bytes, 4);
  const size_t used_bytes = 6 + 8u * num;
  vq->ring_bytes = used_off + used_bytes;
  vq->tokens = static_cast<void**>(kcalloc(num, sizeof(void*), GFP_KERNEL));
  vq->ring_mem = dma_alloc_coherent(dev, vq->ring_bytes, &vq->ring_dma, GFP_KERNEL);
  if (!vq->tokens || !vq->ring_mem) {
    virtqueue_destroy(vq);
    return Errno::kENOMEM;
  }
  auto* base = static_cast<uint8_t*>(vq->ring_mem);
  vq->desc = reinterpret_cast<VirtqDesc*>(base);
  vq->avail = reinterpret_cast<VirtqAvail*>(base + desc_bytes);
  vq->used = reinterpret_cast<VirtqUsed*>(base + used_off);
  vq->desc_dma = vq->ring_dma;
  vq->avail_dma = vq->ring_dma + desc_bytes;
  vq->used_dma = vq->ring_dma + used_off;
  for (uint16_t i = 0; i < num; ++i) vq->desc[i].next = static_cast<uint16_t>(i + 1);
  vq->free_head = 0;
  vq->num_free = num;
  return vq;
}

void virtqueue_destroy(Virtqueue* vq) {
  if (!vq) return;
  if (vq->ring_mem) dma_free_coherent(vq->dev, vq->ring_bytes, vq->ring_mem, vq->ring_dma);
  kfree(vq->tokens);
  kfree(vq);
}

Result<void> virtqueue_add(Virtqueue* vq, const VqBuf* bufs, unsigned n, void* token) {
  if (!vq || !bufs || n == 0 || !token) return Errno::kEINVAL;
  if (n > vq->num_free) return Errno::kENOSPC;
  for (unsigned i = 0; i < n; ++i) {
    auto pa = dma_to_phys(vq->dev, bufs[i].addr);
    if (!pa || !dma_capable(vq->dev, *pa, bufs[i].len) || bufs[i].len == 0) {
      ++vq->refused;
      dma_stats().outside_window.fetch_add(1, std::memory_order_relaxed);
      pr_err("virtqueue %s/%u: buffer %#llx+%u outside the device's reach; refused\n",
             vq->dev->name, vq->index, static_cast<unsigned long long>(bufs[i].addr.value()),
             bufs[i].len);
      return Errno::kEINVAL;
    }
  }
  const uint16_t head = vq->free_head;
  uint16_t idx = head, last = head;
  for (unsigned i = 0; i < n; ++i) {
    VirtqDesc& d = vq->desc[idx];
    d.addr = bufs[i].addr.value();
    d.len = bufs[i].len;
    d.flags = static_cast<uint16_t>((bufs[i].device_writable ? VIRTQ_DESC_F_WRITE : 0) |
                                    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
    last = idx;
    idx = d.next;
  }
  vq->free_head = vq->desc[last].next;
  vq->num_free = static_cast<uint16_t>(vq->num_free - n);
  vq->tokens[head] = token;
  // Spec 2.6.13: ring entry, then (after a write barrier) the index.
  const uint16_t ai = avail_idx(vq);
  vq->avail->ring[ai & (vq->num - 1)] = head;
  wmb();
  avail_idx(vq) = static_cast<uint16_t>(ai + 1);
  wmb();
  return {};
}

bool virtqueue_has_used(const Virtqueue* vq) { return used_idx(vq) != vq->last_used; }

void* virtqueue_get_buf(Virtqueue* vq, uint32_t* len) {
  if (!virtqueue_has_used(vq)) return nullptr;
  rmb();  // the element after the index (spec 2.6.14)
  const volatile VirtqUsedElem& ve = vq->used->ring[vq->last_used & (vq->num - 1)];
  const VirtqUsedElem e{ve.id, ve.len};
  ++vq->last_used;
  if (e.id >= vq->num || !vq->tokens[e.id]) {
    pr_err("virtqueue %s/%u: device returned bad descriptor %u\n", vq->dev->name, vq->index, e.id);
    return nullptr;
  }
  void* token = vq->tokens[e.id];
  vq->tokens[e.id] = nullptr;
  // Return the chain to the free list.
  uint16_t idx = static_cast<uint16_t>(e.id);
  uint16_t count = 1;
  while (vq->desc[idx].flags & VIRTQ_DESC_F_NEXT) {
    idx = vq->desc[idx].next;
    ++count;
  }
  vq->desc[idx].next = vq->free_head;
  vq->free_head = static_cast<uint16_t>(e.id);
  vq->num_free = static_cast<uint16_t>(vq->num_free + count);
  if (len) *len = e.len;
  return token;
}

}  // namespace k
