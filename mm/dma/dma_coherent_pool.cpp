#include "mm/dma/dma_coherent_pool.h"

#include <arch/memory.h>

#include "kernel/printk.h"
#include "lib/string.h"
#include "mm/ioremap.h"
#include "mm/kmalloc.h"

namespace k {
namespace {

bool bit(const DmaCoherentPool* p, uint32_t i) { return (p->bitmap[i / 64] >> (i % 64)) & 1; }
void set_bits(DmaCoherentPool* p, uint32_t i, uint32_t n, bool on) {
  for (uint32_t j = i; j < i + n; ++j) {
    if (on)
      p->bitmap[j / 64] |= uint64_t{1} << (j % 64);
    else
      p->bitmap[j / 64] &= ~(uint64_t{1} << (j % 64));
  }
}

}  // namespace

Result<DmaCoherentPool*> dma_coherent_pool_create(const ReservedMem& rm) {
  if (rm.range.size < kPageSize || !rm.range.base.page_aligned()) return Errno::kEINVAL;
  auto* p = static_cast<DmaCoherentPool*>(kzalloc(sizeof(DmaCoherentPool), GFP_KERNEL));
  if (!p) return Errno::kENOMEM;
  new (p) DmaCoherentPool();
  p->range = PhysRange{rm.range.base, align_down(rm.range.size, kPageSize)};
  p->npages = static_cast<uint32_t>(p->range.size / kPageSize);
  p->bitmap = static_cast<uint64_t*>(kcalloc((p->npages + 63) / 64, sizeof(uint64_t), GFP_KERNEL));
  if (!p->bitmap) {
    kfree(p);
    return Errno::kENOMEM;
  }
  if (rm.flags & (kResvNoMap | kResvFirmware)) {
    if (rm.flags & kResvFirmware) {
      kfree(p->bitmap);
      kfree(p);
      return Errno::kEINVAL;  // firmware memory is never ours to hand out
    }
    p->virt = static_cast<uint8_t*>(ioremap(p->range.base, p->range.size));
    p->uncached = true;
  } else {
    p->virt = static_cast<uint8_t*>(arch::phys_to_virt(p->range.base));
  }
  if (!p->virt) {
    kfree(p->bitmap);
    kfree(p);
    return Errno::kENOMEM;
  }
  return p;
}

void dma_coherent_pool_destroy(DmaCoherentPool* p) {
  if (!p) return;
  if (p->used) {
    pr_err("dma: coherent pool %#llx destroyed with %u pages in use; leaked\n",
           static_cast<unsigned long long>(p->range.base.value()), p->used);
    return;
  }
  if (p->uncached) iounmap(p->virt);
  kfree(p->bitmap);
  kfree(p);
}

void* dma_coherent_pool_alloc(DmaCoherentPool* p, size_t size, PhysAddr* pa) {
  if (!p || size == 0) return nullptr;
  const uint64_t n64 = align_up(size, kPageSize) / kPageSize;
  if (n64 > p->npages) return nullptr;
  const auto n = static_cast<uint32_t>(n64);
  uint32_t found = ~0u;
  {
    IrqSpinLockGuard g(p->lock);
    for (uint32_t i = 0; i + n <= p->npages && found == ~0u; ++i) {
      uint32_t j = 0;
      while (j < n && !bit(p, i + j)) ++j;
      if (j == n)
        found = i;
      else
        i += j;  // skip past the used page
    }
    if (found == ~0u) return nullptr;
    set_bits(p, found, n, true);
    p->used += n;
  }
  uint8_t* v = p->virt + uint64_t{found} * kPageSize;
  memset(v, 0, n * kPageSize);
  *pa = p->range.base + uint64_t{found} * kPageSize;
  return v;
}

bool dma_coherent_pool_owns(const DmaCoherentPool* p, const void* vaddr) {
  const auto* v = static_cast<const uint8_t*>(vaddr);
  return p && v >= p->virt && v < p->virt + p->range.size;
}

bool dma_coherent_pool_free(DmaCoherentPool* p, void* vaddr, size_t size) {
  if (!dma_coherent_pool_owns(p, vaddr) || size == 0) return false;
  const uint64_t off = static_cast<uint8_t*>(vaddr) - p->virt;
  if (off % kPageSize) return false;
  const auto first = static_cast<uint32_t>(off / kPageSize);
  const uint64_t n = align_up(size, kPageSize) / kPageSize;
  if (n > p->npages - first) return false;
  IrqSpinLockGuard g(p->lock);
  for (uint32_t i = first; i < first + n; ++i)
    if (!bit(p, i)) return false;
  set_bits(p, first, static_cast<uint32_t>(n), false);
  p->used -= static_cast<uint32_t>(n);
  return true;
}

}  // namespace k
