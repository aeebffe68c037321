// virtio-blk self-tests against a disk the QEMU harness prepared with
// tests/qemu/blk_pattern.py (sector 0 names the layout): read the
// harness's pattern, write the kernel's own with several requests in
// flight, read it back; the harness checks the image after power-off.
// Without such a disk the suite is skipped. Also checks, when dma-ranges
// restrict the device, that every address it was given lies in its window
// and that buffers outside it were bounced.
#include <arch/cpu.h>
#include <arch/memory.h>

#include "drivers/block/blkdev.h"
#include "drivers/virtio/virtio_blk.h"
#include "drivers/virtio/virtio_rng.h"
#include "kernel/boot_info.h"
#include "kernel/irq.h"
#include "lib/cmdline.h"
#include "mm/zone.h"
#include "kernel/selftest.h"
#include "lib/string.h"
#include "mm/dma/swiotlb.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/dma/dma_test_buffers.h"
#include "mm/page_map.h"

namespace {

using namespace k;

// tests/qemu/blk_pattern.py writes the same header and words.
constexpr char kMagic[16] = "RVK-BLK-PATTERN";
constexpr uint64_t kKernelSeedXor = 0x4b45524e454c2121ull;  // "KERNEL!!"

struct [[gnu::packed]] DiskHeader {
  char magic[16];
  uint32_t version;
  uint32_t a_start, a_count;  // harness pattern
  uint32_t b_start, b_count;  // written by the kernel
  uint32_t reserved;
  uint64_t seed;
};

uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t word(uint64_t seed, uint64_t sector, unsigned w) {
  return splitmix64(seed ^ (sector * 64 + w));
}

void fill(void* buf, uint64_t seed, uint64_t sector, uint64_t count) {
  auto* p = static_cast<uint64_t*>(buf);
  for (uint64_t s = 0; s < count; ++s)
    for (unsigned w = 0; w < 64; ++w) p[s * 64 + w] = word(seed, sector + s, w);
}
// Index of the first bad sector, or count.
uint64_t verify(const void* buf, uint64_t seed, uint64_t sector, uint64_t count) {
  const auto* p = static_cast<const uint64_t*>(buf);
  for (uint64_t s = 0; s < count; ++s)
    for (unsigned w = 0; w < 64; ++w)
      if (p[s * 64 + w] != word(seed, sector + s, w)) return s;
  return count;
}

// The test disk, or nullptr with the reason in *why.
BlockDevice* test_disk(DiskHeader* hdr, const char** why) {
  BlockDevice* d = blkdev_lookup("vda");
  if (!d) {
    *why = "no virtio disk";
    return nullptr;
  }
  auto* sec = static_cast<uint8_t*>(dma_test::alloc(kSectorSize));
  if (!sec || !blkdev_read(d, 0, sec, 1)) {
    dma_test::free(sec);
    *why = "cannot read sector 0";
    return nullptr;
  }
  memcpy(hdr, sec, sizeof(*hdr));
  dma_test::free(sec);
  if (memcmp(hdr->magic, kMagic, sizeof(kMagic)) != 0 || hdr->version != 1) {
    *why = "vda is not a blk_pattern.py test disk";
    return nullptr;
  }
  return d;
}

}  // namespace

SELFTEST(virtio_blk, reads_the_harness_pattern) {
  DiskHeader h;
  const char* why = nullptr;
  BlockDevice* d = test_disk(&h, &why);
  if (!d) return t.skip(why);
  constexpr uint64_t kChunk = 128;
  auto* buf = dma_test::alloc(kChunk * kSectorSize);
  KASSERT(buf);
  const uint64_t irqs = irq_count(virtio_blk_irq(virtio_blk_of(d)));
  for (uint64_t s = 0; s < h.a_count; s += kChunk) {
    const uint64_t n = h.a_count - s < kChunk ? h.a_count - s : kChunk;
    KASSERT(blkdev_read(d, h.a_start + s, buf, n).ok());
    const uint64_t bad = verify(buf, h.seed, h.a_start + s, n);
    if (bad != n)
      t.diag("sector %llu differs", static_cast<unsigned long long>(h.a_start + s + bad));
    KASSERT(bad == n);
  }
  if (virtio_blk_irq(virtio_blk_of(d)))
    KEXPECT(irq_count(virtio_blk_irq(virtio_blk_of(d))) > irqs);  // completions came by interrupt
  dma_test::free(buf);
}

SELFTEST(virtio_blk, writes_with_requests_in_flight_and_reads_back) {
  DiskHeader h;
  const char* why = nullptr;
  BlockDevice* d = test_disk(&h, &why);
  if (!d) return t.skip(why);
  VirtioBlk* vb = virtio_blk_of(d);
  KASSERT(vb);
  constexpr unsigned kReqs = 16;
  const uint32_t per = h.b_count / kReqs;
  KASSERT(per > 0 && per <= 256);
  const size_t bytes = size_t{per} * kReqs * kSectorSize;
  auto* out = static_cast<uint8_t*>(dma_test::alloc(bytes));
  auto* in = static_cast<uint8_t*>(dma_test::zalloc(bytes));
  KASSERT(out && in);
  const uint64_t seed = h.seed ^ kKernelSeedXor;
  fill(out, seed, h.b_start, uint64_t{per} * kReqs);
  static VirtioBlkReq reqs[kReqs];
  for (int pass = 0; pass < 2; ++pass) {
    const BlkOp op = pass == 0 ? BlkOp::kWrite : BlkOp::kRead;
    uint8_t* base = pass == 0 ? out : in;
    unsigned submitted = 0;
    for (unsigned i = 0; i < kReqs; ++i) {
      auto r = virtio_blk_submit(vb, &reqs[i], op, h.b_start + uint64_t{i} * per,
                                 base + size_t{i} * per * kSectorSize, per);
      KEXPECT(r.ok());
      if (r) ++submitted;
    }
    KEXPECT_EQ(submitted, kReqs);  // all in flight before the first wait
    for (unsigned i = 0; i < submitted; ++i) KEXPECT(virtio_blk_wait(vb, &reqs[i]).ok());
    if (pass == 0) KEXPECT(blkdev_flush(d).ok());
  }
  KEXPECT_EQ(verify(in, seed, h.b_start, uint64_t{per} * kReqs), uint64_t{per} * kReqs);
  // Bounds and arguments.
  KEXPECT_EQ(blkdev_read(d, d->nr_sectors, in, 1).error(), Errno::kERANGE);
  KEXPECT_EQ(blkdev_read(d, 0, nullptr, 1).error(), Errno::kEINVAL);
  dma_test::free(out);
  dma_test::free(in);
}

SELFTEST(virtio_blk, device_only_sees_addresses_inside_its_window) {
  BlockDevice* d = blkdev_lookup("vda");
  if (!d) return t.skip("no virtio disk");
  VirtioBlk* vb = virtio_blk_of(d);
  Device* dev = virtio_blk_device(vb);
  KASSERT(dev);
  // Coherent memory for this device is inside its window.
  DmaAddr h[3];
  void* c[3];
  const size_t sizes[] = {64, 4096, 65536};
  for (int i = 0; i < 3; ++i) {
    c[i] = dma_alloc_coherent(dev, sizes[i], &h[i], GFP_KERNEL);
    KASSERT(c[i]);
    KEXPECT(dma_capable(dev, arch::virt_to_phys(c[i]), sizes[i]));
    KEXPECT_EQ(dma_to_phys(dev, h[i])->value(), arch::virt_to_phys(c[i]).value());
  }
  for (int i = 0; i < 3; ++i) dma_free_coherent(dev, sizes[i], c[i], h[i]);
  // A data buffer from the top zone: bounced when the window excludes it.
  Page* pg = alloc_pages(GFP_KERNEL, 0);
  KASSERT(pg);
  const PhysAddr pa = page_to_phys(pg);
  const bool outside = !dma_capable(dev, pa, kPageSize);
  const uint64_t bounces = dma_stats().bounces.load();
  KEXPECT(blkdev_read(d, 0, page_address(pg), 8).ok());
  if (outside) KEXPECT(dma_stats().bounces.load() > bounces);
  __free_pages(pg, 0);
  KEXPECT_EQ(virtio_blk_stats(vb).vq_refused, 0u);
  KEXPECT_EQ(dma_stats().outside_window.load(), 0u);
  const VirtioBlkStats st = virtio_blk_stats(vb);
  t.diag(
      "%s: window %s, bus limit %#llx; %llu bounces so far, %llu bytes copied; %llu requests "
      "(%llu completed by IRQ, %llu polled)",
      dev->name, dev->dma.restricted ? "restricted" : "identity",
      static_cast<unsigned long long>(dev->dma.bus_limit),
      static_cast<unsigned long long>(dma_stats().bounces.load()),
      static_cast<unsigned long long>(swiotlb_info().bounced_bytes),
      static_cast<unsigned long long>(st.requests),
      static_cast<unsigned long long>(st.irq_completions),
      static_cast<unsigned long long>(st.poll_completions));
  if (dev->dma.restricted) KEXPECT(dma_stats().bounces.load() > 0);
  // The dma-ranges scenario says where the window must end: the device's
  // reach and ZONE_DMA both stop there (a DTB that lost its patch fails).
  if (auto v = cmdline_get(boot_params().cmdline, "dma_test.window_end")) {
    const auto end = parse_u64(*v);
    KASSERT(end.has_value());
    KEXPECT(dev->dma.restricted);
    KEXPECT_EQ(dev->dma.cpu_limit(dev->coherent_dma_mask), *end);
    KEXPECT_EQ(g_zone_limits.dma_end_pfn << kPageShift, *end);
    KEXPECT(swiotlb_range().end().value() <= *end);
  }
}

SELFTEST(virtio_blk, bench_4k_read_round_trip) {
  BlockDevice* d = blkdev_lookup("vda");
  if (!d) return t.skip("no virtio disk");
  void* buf = dma_test::alloc(4096);
  KASSERT(buf);
  constexpr int kIters = 50;
  const uint64_t start = arch::read_instret();
  const uint64_t t0 = arch::read_time();
  for (int i = 0; i < kIters; ++i) KEXPECT(blkdev_read(d, 8, buf, 8).ok());
  const uint64_t per = (arch::read_instret() - start) / kIters;
  t.diag("bench: virtio-blk 4 KiB read round trip: %llu instructions, %llu timer ticks",
         static_cast<unsigned long long>(per),
         static_cast<unsigned long long>((arch::read_time() - t0) / kIters));
  dma_test::free(buf);
}

SELFTEST(virtio_rng, reads_random_bytes) {
  if (!hwrng_present()) return t.skip("no virtio-rng device");
  uint8_t a[64] = {}, b[64] = {};
  auto ra = hwrng_read(a, sizeof(a));
  auto rb = hwrng_read(b, sizeof(b));
  KASSERT(ra.ok() && rb.ok());
  KEXPECT(*ra > 0 && *ra <= sizeof(a));
  bool nonzero = false;
  for (size_t i = 0; i < *ra; ++i) nonzero |= a[i] != 0;
  KEXPECT(nonzero);
  KEXPECT(*ra != *rb || memcmp(a, b, *ra) != 0);
  KEXPECT_EQ(hwrng_read(nullptr, 4).error(), Errno::kEINVAL);
}
