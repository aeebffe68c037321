#include "mm/dma/dma_pool.h"

#include <new>

#include "kernel/printk.h"
#include "lib/list.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/dma/dma_mapping.h"
#include "mm/kmalloc.h"

namespace k {

namespace {

constexpr uint32_t kNoBlock = ~0u;
// Poison written over freed blocks (Linux POOL_POISON_FREED) so a double
// free is recognisable: the block's free-list link is followed by it.
constexpr uint32_t kFreeMagic = 0xa7a7a7a7u;

struct Chunk {
  ListNode link;
  uint8_t* vaddr;
  DmaAddr dma;
  uint32_t free_head;  // offset of the first free block, kNoBlock if none
  uint32_t in_use;
};

}  // namespace

struct DmaPool {
  SpinLock lock;  // leaf; IRQs off
  char name[32];
  Device* dev;
  size_t size;  // block stride
  size_t boundary;
  ListHead chunks;
  size_t blocks_in_use = 0;
  size_t nr_chunks = 0;
};

namespace {

// Free blocks keep {next offset, magic} in their first 8 bytes.
uint32_t* link_of(Chunk* c, uint32_t off) { return reinterpret_cast<uint32_t*>(c->vaddr + off); }

Chunk* new_chunk(DmaPool* p, gfp_t gfp) {
  auto* c = static_cast<Chunk*>(kmalloc(sizeof(Chunk), gfp & ~__GFP_ZERO));
  if (!c) return nullptr;
  new (c) Chunk();
  c->vaddr =
      static_cast<uint8_t*>(dma_alloc_coherent(p->dev, kPageSize, &c->dma, gfp & ~__GFP_ZERO));
  if (!c->vaddr) {
    kfree(c);
    return nullptr;
  }
  c->in_use = 0;
  // Thread the free list through the blocks that do not straddle a
  // boundary, in address order.
  uint32_t* prev = &c->free_head;
  for (uint64_t off = 0; off + p->size <= kPageSize; off += p->size) {
    if (p->boundary && (off / p->boundary) != ((off + p->size - 1) / p->boundary)) continue;
    *prev = static_cast<uint32_t>(off);
    link_of(c, static_cast<uint32_t>(off))[1] = kFreeMagic;
    prev = &link_of(c, static_cast<uint32_t>(off))[0];
  }
  *prev = kNoBlock;
  return c;
}

}  // namespace

DmaPool* dma_pool_create(const char* name, Device* dev, size_t size, size_t align,
                         size_t boundary) {
  if (!dev || size == 0 || size > kPageSize) return nullptr;
  if (align == 0) align = 8;
  if (!is_pow2(align) || align > kPageSize) return nullptr;
  if (boundary && (!is_pow2(boundary) || boundary < size)) return nullptr;
  auto* p = static_cast<DmaPool*>(kmalloc(sizeof(DmaPool), GFP_KERNEL));
  if (!p) return nullptr;
  new (p) DmaPool();
  const size_t n = name ? strlen(name) : 0;
  memcpy(p->name, name ? name : "", n < sizeof(p->name) - 1 ? n : sizeof(p->name) - 1);
  p->name[n < sizeof(p->name) - 1 ? n : sizeof(p->name) - 1] = '\0';
  p->dev = dev;
  // Room for the free-list link; stride keeps every block aligned.
  p->size = align_up(size < 8 ? 8 : size, align);
  p->boundary = boundary;
  if (p->size > kPageSize) {
    kfree(p);
    return nullptr;
  }
  return p;
}

void dma_pool_destroy(DmaPool* p) {
  if (!p) return;
  if (p->blocks_in_use) {
    pr_err("dma_pool %s: destroyed with %zu blocks in use; their chunks are leaked\n", p->name,
           p->blocks_in_use);
  }
  p->chunks.for_each([&](ListNode* n) {
    Chunk* c = container_of(n, &Chunk::link);
    if (c->in_use) return;
    c->link.unlink();
    dma_free_coherent(p->dev, kPageSize, c->vaddr, c->dma);
    kfree(c);
  });
  if (p->blocks_in_use) return;  // the pool header stays with the leak
  p->~DmaPool();
  kfree(p);
}

void* dma_pool_alloc(DmaPool* p, gfp_t gfp, DmaAddr* handle) {
  *handle = DMA_MAPPING_ERROR;
  if (!p) return nullptr;
  Chunk* chunk = nullptr;
  {
    IrqSpinLockGuard g(p->lock);
    p->chunks.for_each([&](ListNode* n) {
      Chunk* c = container_of(n, &Chunk::link);
      if (!chunk && c->free_head != kNoBlock) chunk = c;
    });
  }
  if (!chunk) {
    // Allocated outside the lock (the page allocator may take a while).
    Chunk* c = new_chunk(p, gfp);
    if (!c) return nullptr;
    IrqSpinLockGuard g(p->lock);
    p->chunks.push_back(&c->link);
    ++p->nr_chunks;
  }
  IrqSpinLockGuard g(p->lock);
  chunk = nullptr;
  p->chunks.for_each([&](ListNode* n) {
    Chunk* c = container_of(n, &Chunk::link);
    if (!chunk && c->free_head != kNoBlock) chunk = c;
  });
  if (!chunk) return nullptr;  // raced away by other CPUs: report no memory
  const uint32_t off = chunk->free_head;
  chunk->free_head = link_of(chunk, off)[0];
  link_of(chunk, off)[1] = 0;
  ++chunk->in_use;
  ++p->blocks_in_use;
  void* v = chunk->vaddr + off;
  if (gfp & __GFP_ZERO) memset(v, 0, p->size);
  *handle = chunk->dma + off;
  return v;
}

void dma_pool_free(DmaPool* p, void* vaddr, DmaAddr handle) {
  if (!p || !vaddr) return;
  IrqSpinLockGuard g(p->lock);
  Chunk* chunk = nullptr;
  p->chunks.for_each([&](ListNode* n) {
    Chunk* c = container_of(n, &Chunk::link);
    auto* v = static_cast<uint8_t*>(vaddr);
    if (v >= c->vaddr && v < c->vaddr + kPageSize) chunk = c;
  });
  if (!chunk) {
    pr_err("dma_pool %s: free of %p, not from this pool\n", p->name, vaddr);
    return;
  }
  const auto off = static_cast<uint32_t>(static_cast<uint8_t*>(vaddr) - chunk->vaddr);
  if (off % p->size || chunk->dma + off != handle) {
    pr_err("dma_pool %s: free of %p / %#llx: not a block start or handle mismatch\n", p->name,
           vaddr, static_cast<unsigned long long>(handle.value()));
    return;
  }
  if (link_of(chunk, off)[1] == kFreeMagic) {
    for (uint32_t f = chunk->free_head; f != kNoBlock; f = link_of(chunk, f)[0]) {
      if (f == off) {
        pr_err("dma_pool %s: double free of %p\n", p->name, vaddr);
        return;
      }
    }
  }
  link_of(chunk, off)[0] = chunk->free_head;
  link_of(chunk, off)[1] = kFreeMagic;
  chunk->free_head = off;
  --chunk->in_use;
  --p->blocks_in_use;
}

size_t dma_pool_blocks_in_use(const DmaPool* p) { return p ? p->blocks_in_use : 0; }
size_t dma_pool_chunks(const DmaPool* p) { return p ? p->nr_chunks : 0; }

}  // namespace k
