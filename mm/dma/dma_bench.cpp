// Benchmarks of the DMA API (issue 8, item 1) on a stand-alone coherent
// device (device_init_fake: identity window, 64-bit masks):
// dma_alloc_coherent + dma_free_coherent of one page, and a 512-byte
// streaming mapping map + unmap, direct and forced through swiotlb (the
// bounce path adds the slot search and a 512-byte copy each way it needs).
#include "drivers/base/device.h"
#include "kernel/bench.h"
#include "mm/dma/dma_mapping.h"
#include "mm/dma/swiotlb.h"
#include "mm/gfp.h"
#include "mm/page_alloc.h"

using namespace k;

BENCH(dma) {
  if (!dma_init()) b.diag("dma: no bounce pool; the bounced figure is left out");
  Device dev;
  device_init_fake(dev, "dma-bench", true);

  bool ok = true;
  DmaAddr h{};
  dma_free_coherent(&dev, 4096, dma_alloc_coherent(&dev, 4096, &h, GFP_KERNEL), h);
  b.measure("dma_alloc_coherent_4k", b.iters(1000), [&] {
    DmaAddr handle{};
    void* p = dma_alloc_coherent(&dev, 4096, &handle, GFP_KERNEL);
    ok &= p != nullptr;
    if (p) dma_free_coherent(&dev, 4096, p, handle);
  });
  if (!ok) return b.fail("dma_alloc_coherent failed during the run");

  void* buf = __get_free_page(GFP_KERNEL);
  if (!buf) return b.fail("no page for the streaming buffer");
  for (int bounced = 0; bounced < 2; ++bounced) {
    if (bounced && swiotlb_info().nslots == 0) break;
    dev.force_bounce = bounced != 0;
    b.measure(bounced ? "dma_map_single_bounced_512" : "dma_map_single_direct_512", b.iters(1000),
              [&] {
                const DmaAddr a = dma_map_single(&dev, buf, 512, DMA_TO_DEVICE);
                ok &= !dma_mapping_error(&dev, a);
                if (!dma_mapping_error(&dev, a)) dma_unmap_single(&dev, a, 512, DMA_TO_DEVICE);
              });
  }
  free_page(buf);
  if (!ok) b.fail("dma_map_single failed during the run");
}
