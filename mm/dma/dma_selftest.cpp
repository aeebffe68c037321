// Self-tests of the DMA API on fake devices (coherent, non-coherent,
// force-bounce, window-restricted): the table of directions, bounce
// copies, pool exhaustion, dma_debug reports, dma_pool, and benchmarks.
#include <arch/cpu.h>
#include <arch/memory.h>

#include "arch/riscv/mm/cache.h"
#include "kernel/selftest.h"
#include "lib/string.h"
#include "mm/dma/dma_debug.h"
#include "mm/dma/dma_mapping.h"
#include "mm/dma/dma_pool.h"
#include "mm/dma/swiotlb.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/dma/dma_test_buffers.h"
#include "mm/page_map.h"
#include "mm/slab.h"
#include "mm/vmalloc.h"

namespace k {
namespace {

uint64_t read_mappings_live() { return static_cast<uint64_t>(dma_stats().mappings_live.load()); }
uint64_t read_coherent_live() {
  return static_cast<uint64_t>(dma_stats().coherent_pages_live.load());
}
uint64_t read_swiotlb_used() { return swiotlb_info().used; }

void fill(void* p, size_t n, uint8_t seed) {
  auto* b = static_cast<uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
}
bool check(const void* p, size_t n, uint8_t seed) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<uint8_t>(seed + i * 7)) return false;
  return true;
}
void* bus_cpu(Device& d, DmaAddr a) { return arch::phys_to_virt(*dma_to_phys(&d, a)); }

}  // namespace
}  // namespace k

SELFTEST_COUNTER(dma_mappings_live, k::read_mappings_live);
SELFTEST_COUNTER(dma_coherent_pages_live, k::read_coherent_live);
SELFTEST_COUNTER(swiotlb_slots_used, k::read_swiotlb_used);

using namespace k;

SELFTEST(dma, coherent_alloc_is_zeroed_reachable_and_returned) {
  dma_init();
  Device dev;
  device_init_fake(dev, "dma-test", true);
  const uint64_t free_before = nr_free_pages();
  const size_t sizes[] = {1, 4096, 5000, 65536};
  void* cpu[4];
  DmaAddr bus[4];
  for (int i = 0; i < 4; ++i) {
    cpu[i] = dma_alloc_coherent(&dev, sizes[i], &bus[i], GFP_KERNEL);
    KASSERT(cpu[i] != nullptr);
    KEXPECT(!dma_mapping_error(&dev, bus[i]));
    KEXPECT_EQ(bus[i].value(), arch::virt_to_phys(cpu[i]).value());  // identity window
    const auto* b = static_cast<const uint8_t*>(cpu[i]);
    bool zero = true;
    for (size_t j = 0; j < sizes[i]; ++j) zero &= b[j] == 0;
    KEXPECT(zero);
    memset(cpu[i], 0xa5, sizes[i]);
  }
  for (int i = 0; i < 4; ++i) dma_free_coherent(&dev, sizes[i], cpu[i], bus[i]);
  KEXPECT_EQ(nr_free_pages(), free_before);
  DmaAddr h;
  KEXPECT(dma_alloc_coherent(&dev, 0, &h, GFP_KERNEL) == nullptr);
  KEXPECT(dma_mapping_error(&dev, h));
}

SELFTEST(dma, map_single_direct_uses_the_bus_offset) {
  Device dev;
  device_init_fake(dev, "dma-offset", true);
  // CPU [ram, 4 GiB) appears at bus 0x4000_0000 (an offset window). It
  // covers ZONE_DMA32, where the bounce pool lives, so a buffer above the
  // window bounces instead of failing.
  const uint64_t ram = arch::g_layout.phys_ram_base;
  const uint64_t span = (uint64_t{1} << 32) - ram;
  dev.dma.windows[0] = fdt::DmaWindow{ram, 0x40000000, span};
  dev.dma.bus_limit = 0x40000000 + span - 1;
  dev.dma.restricted = true;
  void* buf = dma_test::alloc(512);
  KASSERT(buf);
  const uint64_t pa = arch::virt_to_phys(buf).value();
  const uint64_t bounces = dma_stats().bounces.load();
  DmaAddr a = dma_map_single(&dev, buf, 512, DMA_TO_DEVICE);
  KEXPECT(!dma_mapping_error(&dev, a));
  if (!dma_mapping_error(&dev, a)) {
    KEXPECT(a.value() >= 0x40000000 && a.value() + 512 - 1 <= dev.dma.bus_limit);
    if (pa - ram < span) {
      KEXPECT_EQ(a.value(), pa - ram + 0x40000000);
      KEXPECT_EQ(dma_stats().bounces.load(), bounces);
    } else {
      KEXPECT_EQ(dma_stats().bounces.load(), bounces + 1);
    }
    dma_unmap_single(&dev, a, 512, DMA_TO_DEVICE);
  }
  // A mask below the window cannot be set.
  KEXPECT(!dma_set_mask(&dev, dma_bit_mask(24)));
  dma_test::free(buf);
}

SELFTEST(dma, bounce_copies_in_the_direction_of_the_transfer) {
  if (!dma_init()) return t.skip("no bounce pool");
  Device dev;
  device_init_fake(dev, "dma-bounce", true);
  dev.force_bounce = true;
  constexpr size_t kLen = 3000;
  auto* buf = static_cast<uint8_t*>(dma_test::alloc(kLen));
  KASSERT(buf);
  const uint64_t bounces = dma_stats().bounces.load();

  // TO_DEVICE: the device sees the CPU's data; its writes never come back.
  fill(buf, kLen, 1);
  DmaAddr a = dma_map_single(&dev, buf, kLen, DMA_TO_DEVICE);
  KASSERT(!dma_mapping_error(&dev, a));
  KEXPECT(is_swiotlb_buffer(*dma_to_phys(&dev, a)));
  KEXPECT(check(bus_cpu(dev, a), kLen, 1));
  fill(bus_cpu(dev, a), kLen, 2);
  dma_unmap_single(&dev, a, kLen, DMA_TO_DEVICE);
  KEXPECT(check(buf, kLen, 1));

  // FROM_DEVICE: the device's data reaches the buffer at sync/unmap only.
  a = dma_map_single(&dev, buf, kLen, DMA_FROM_DEVICE);
  KASSERT(!dma_mapping_error(&dev, a));
  fill(bus_cpu(dev, a), kLen, 3);
  KEXPECT(check(buf, kLen, 1));
  dma_sync_single_for_cpu(&dev, a, kLen, DMA_FROM_DEVICE);
  KEXPECT(check(buf, kLen, 3));
  fill(bus_cpu(dev, a), kLen, 4);
  dma_sync_single_for_device(&dev, a, kLen, DMA_FROM_DEVICE);
  dma_unmap_single(&dev, a, kLen, DMA_FROM_DEVICE);
  KEXPECT(check(buf, kLen, 3));  // sync_for_device refreshed the bounce copy from the buffer

  // BIDIRECTIONAL: both ways.
  fill(buf, kLen, 5);
  a = dma_map_single(&dev, buf, kLen, DMA_BIDIRECTIONAL);
  KASSERT(!dma_mapping_error(&dev, a));
  KEXPECT(check(bus_cpu(dev, a), kLen, 5));
  fill(bus_cpu(dev, a), kLen, 6);
  dma_unmap_single(&dev, a, kLen, DMA_BIDIRECTIONAL);
  KEXPECT(check(buf, kLen, 6));
  KEXPECT_EQ(dma_stats().bounces.load() - bounces, 3u);
  dma_test::free(buf);
}

SELFTEST(dma, buffers_outside_the_window_are_bounced_into_it) {
  if (!dma_init()) return t.skip("no bounce pool");
  // A device that reaches exactly the bounce pool, at bus 0x1000_0000.
  const PhysRange pool = swiotlb_range();
  Device dev;
  device_init_fake(dev, "dma-window", true);
  dev.dma.windows[0] = fdt::DmaWindow{pool.base.value(), 0x10000000, pool.size};
  dev.dma.bus_limit = 0x10000000 + pool.size - 1;
  dev.dma.restricted = true;
  auto* buf = static_cast<uint8_t*>(dma_test::alloc(4096));
  KASSERT(buf);
  KASSERT(!pool.contains(arch::virt_to_phys(buf)));
  fill(buf, 4096, 9);
  const uint64_t bounces = dma_stats().bounces.load();
  DmaAddr a = dma_map_single(&dev, buf, 4096, DMA_BIDIRECTIONAL);
  KASSERT(!dma_mapping_error(&dev, a));
  KEXPECT(a.value() >= 0x10000000 && a.value() + 4096 <= 0x10000000 + pool.size);
  KEXPECT_EQ(dma_stats().bounces.load(), bounces + 1);
  KEXPECT(check(bus_cpu(dev, a), 4096, 9));
  dma_unmap_single(&dev, a, 4096, DMA_BIDIRECTIONAL);
  // Coherent memory it cannot get (no zone fits such a window): an error,
  // never an unreachable address.
  DmaAddr h;
  void* c = dma_alloc_coherent(&dev, 4096, &h, GFP_KERNEL);
  if (c) {
    KEXPECT(h.value() >= 0x10000000 && h.value() < 0x10000000 + pool.size);
    dma_free_coherent(&dev, 4096, c, h);
  }
  dma_test::free(buf);
}

SELFTEST(dma, bounce_pool_exhaustion_is_an_error_not_a_hang) {
  if (!dma_init()) return t.skip("no bounce pool");
  Device dev;
  device_init_fake(dev, "dma-exhaust", true);
  dev.force_bounce = true;
  const size_t max = swiotlb_max_mapping_size();
  void* buf = dma_test::alloc(max);
  KASSERT(buf);
  const SwiotlbInfo before = swiotlb_info();
  const uint32_t fit = (before.nslots - before.used) / 128;
  DmaAddr maps[64];
  uint32_t n = 0;
  const uint64_t failures = dma_stats().map_failures.load();
  for (; n < 64; ++n) {
    maps[n] = dma_map_single(&dev, buf, max, DMA_TO_DEVICE);
    if (dma_mapping_error(&dev, maps[n])) break;
  }
  KEXPECT(n < 64);
  // The allocator's rotating cursor may leave one run's worth of slots
  // split at the wrap point (Linux's area cursor behaves the same).
  KEXPECT(n + 1 >= fit);
  KEXPECT_EQ(dma_stats().map_failures.load(), failures + 1);
  // Larger than one mapping may be: refused even with an empty pool.
  for (uint32_t i = 0; i < n; ++i) dma_unmap_single(&dev, maps[i], max, DMA_TO_DEVICE);
  KEXPECT(dma_mapping_error(&dev, dma_map_single(&dev, buf, max + 1, DMA_TO_DEVICE)));
  KEXPECT_EQ(swiotlb_info().used, before.used);
  t.diag("bounce pool: %u slots, %u mappings of %zu KiB fit", before.nslots, n, max >> 10);
  dma_test::free(buf);
}

SELFTEST(dma, noncoherent_maps_issue_the_right_maintenance) {
  dma_init();
  Device dev;
  device_init_fake(dev, "dma-noncoherent", false);
  auto* buf = static_cast<uint8_t*>(dma_test::alloc(4096));  // page aligned
  KASSERT(buf);
  const PhysAddr pa = arch::virt_to_phys(buf);
  arch::CacheRecord rec[16];
  auto expect_ops = [&](size_t n, std::initializer_list<arch::CacheOp> ops, PhysAddr where,
                        size_t len) {
    KEXPECT_EQ(n, ops.size());
    size_t i = 0;
    for (arch::CacheOp op : ops) {
      if (i >= n) break;
      KEXPECT_EQ(static_cast<int>(rec[i].op), static_cast<int>(op));
      KEXPECT_EQ(rec[i].pa.value(), where.value());
      KEXPECT_EQ(rec[i].size, len);
      ++i;
    }
  };
  using arch::CacheOp;
  // map / unmap per direction (table in mm/dma/dma_mapping.h).
  struct Case {
    dma_data_direction dir;
    CacheOp map_op;
    bool unmap_inval;
  } cases[] = {{DMA_TO_DEVICE, CacheOp::kClean, false},
               {DMA_FROM_DEVICE, CacheOp::kClean, true},
               {DMA_BIDIRECTIONAL, CacheOp::kFlush, true}};
  for (const Case& c : cases) {
    KASSERT(arch::cache_record_begin(rec, 16));
    DmaAddr a = dma_map_single(&dev, buf, 4096, c.dir);
    size_t n = arch::cache_record_end();
    KASSERT(!dma_mapping_error(&dev, a));
    expect_ops(n, {c.map_op}, pa, 4096);
    KASSERT(arch::cache_record_begin(rec, 16));
    dma_sync_single_for_cpu(&dev, a, 4096, c.dir);
    dma_sync_single_for_device(&dev, a, 4096, c.dir);
    dma_unmap_single(&dev, a, 4096, c.dir);
    n = arch::cache_record_end();
    if (c.unmap_inval)
      expect_ops(n, {CacheOp::kInvalidate, c.map_op, CacheOp::kInvalidate}, pa, 4096);
    else
      expect_ops(n, {c.map_op}, pa, 4096);
  }
  // A buffer sharing cache lines with other data is bounced; maintenance
  // then covers the bounce slot, not the caller's lines.
  const uint64_t bounces = dma_stats().bounces.load();
  KASSERT(arch::cache_record_begin(rec, 16));
  DmaAddr a = dma_map_single(&dev, buf + 8, 100, DMA_TO_DEVICE);
  size_t n = arch::cache_record_end();
  if (swiotlb_ready()) {
    KASSERT(!dma_mapping_error(&dev, a));
    KEXPECT_EQ(dma_stats().bounces.load(), bounces + 1);
    KEXPECT_EQ(n, 1u);
    KEXPECT(is_swiotlb_buffer(rec[0].pa));
    KEXPECT_EQ(rec[0].size, 100u);
    dma_unmap_single(&dev, a, 100, DMA_TO_DEVICE);
  }
  // A coherent device gets no maintenance at all.
  Device coh;
  device_init_fake(coh, "dma-coherent", true);
  KASSERT(arch::cache_record_begin(rec, 16));
  a = dma_map_single(&coh, buf, 4096, DMA_BIDIRECTIONAL);
  dma_unmap_single(&coh, a, 4096, DMA_BIDIRECTIONAL);
  KEXPECT_EQ(arch::cache_record_end(), 0u);
  dma_test::free(buf);
}

SELFTEST(dma, noncoherent_coherent_alloc_is_flushed_and_uncached) {
  Device dev;
  device_init_fake(dev, "dma-nc-alloc", false);
  const uint64_t free_before = nr_free_pages();
  arch::CacheRecord rec[4];
  KASSERT(arch::cache_record_begin(rec, 4));
  DmaAddr h;
  void* cpu = dma_alloc_coherent(&dev, 8192, &h, GFP_KERNEL);
  const size_t n = arch::cache_record_end();
  if (!arch::pgprot_dma_noncached()) {
    // No Svpbmt, no pool: refused rather than handed out cached.
    KEXPECT(cpu == nullptr);
    t.diag("no Svpbmt: non-coherent coherent memory needs a no-map shared-dma-pool");
  } else {
    KASSERT(cpu != nullptr);
    KEXPECT(is_vmalloc_addr(cpu));  // the uncached (NC) alias
    KEXPECT_EQ(n, 1u);
    KEXPECT_EQ(static_cast<int>(rec[0].op), static_cast<int>(arch::CacheOp::kFlush));
    KEXPECT_EQ(rec[0].pa.value(), h.value());
    KEXPECT_EQ(rec[0].size, 8192u);
    static_cast<uint8_t*>(cpu)[100] = 7;
    dma_free_coherent(&dev, 8192, cpu, h);
  }
  KEXPECT_EQ(nr_free_pages(), free_before);
}

SELFTEST(dma, dma_debug_reports_api_misuse) {
  const bool was = dma_debug_enabled();
  dma_debug_set_enabled(true);
  Device dev;
  device_init_fake(dev, "dma-debug", true);
  auto* buf = static_cast<uint8_t*>(dma_test::alloc(256));
  KASSERT(buf);
  auto count = [](DmaDebugError e) { return dma_debug_error_count(e); };
  const uint64_t size0 = count(DmaDebugError::kSizeMismatch),
                 dir0 = count(DmaDebugError::kDirMismatch), nm0 = count(DmaDebugError::kNotMapped),
                 dbl0 = count(DmaDebugError::kDoubleUnmap),
                 cpu0 = count(DmaDebugError::kCpuAccessDeviceOwned);

  DmaAddr a = dma_map_single(&dev, buf, 256, DMA_TO_DEVICE);
  dma_unmap_single(&dev, a, 128, DMA_TO_DEVICE);
  KEXPECT_EQ(count(DmaDebugError::kSizeMismatch), size0 + 1);

  a = dma_map_single(&dev, buf, 256, DMA_TO_DEVICE);
  dma_unmap_single(&dev, a, 256, DMA_FROM_DEVICE);
  KEXPECT_EQ(count(DmaDebugError::kDirMismatch), dir0 + 1);

  dma_unmap_single(&dev, DmaAddr(arch::virt_to_phys(buf).value() + 4096 * 7), 64, DMA_TO_DEVICE);
  KEXPECT_EQ(count(DmaDebugError::kNotMapped), nm0 + 1);

  a = dma_map_single(&dev, buf, 256, DMA_TO_DEVICE);
  dma_unmap_single(&dev, a, 256, DMA_TO_DEVICE);
  dma_unmap_single(&dev, a, 256, DMA_TO_DEVICE);
  KEXPECT_EQ(count(DmaDebugError::kDoubleUnmap), dbl0 + 1);

  a = dma_map_single(&dev, buf, 256, DMA_FROM_DEVICE);
  dma_debug_cpu_access(buf + 10, 4);  // device owns it: reported
  KEXPECT_EQ(count(DmaDebugError::kCpuAccessDeviceOwned), cpu0 + 1);
  dma_sync_single_for_cpu(&dev, a, 256, DMA_FROM_DEVICE);
  dma_debug_cpu_access(buf + 10, 4);  // handed back: fine
  KEXPECT_EQ(count(DmaDebugError::kCpuAccessDeviceOwned), cpu0 + 1);
  dma_sync_single_for_device(&dev, a, 256, DMA_FROM_DEVICE);
  dma_unmap_single(&dev, a, 256, DMA_FROM_DEVICE);
  dma_debug_cpu_access(buf + 10, 4);  // unmapped: fine
  KEXPECT_EQ(count(DmaDebugError::kCpuAccessDeviceOwned), cpu0 + 1);
  KEXPECT_EQ(dma_debug_live_entries(), 0u);
  dma_debug_set_enabled(was);
  dma_test::free(buf);
}

SELFTEST(dma, dma_pool_blocks_are_aligned_unique_and_returned) {
  Device dev;
  device_init_fake(dev, "dma-pool", true);
  // The pool's bookkeeping is kmalloc'd: pages slab caches keep count as
  // slab pages, not as lost.
  const uint64_t free_before = nr_free_pages() + slab_nr_pages();
  KEXPECT(dma_pool_create("bad", &dev, 0, 8, 0) == nullptr);
  KEXPECT(dma_pool_create("bad", &dev, 64, 24, 0) == nullptr);
  KEXPECT(dma_pool_create("bad", &dev, 64, 8, 32) == nullptr);
  DmaPool* pool = dma_pool_create("test", &dev, 40, 32, 128);
  KASSERT(pool);
  constexpr int kN = 300;
  static void* v[kN];
  static DmaAddr h[kN];
  for (int i = 0; i < kN; ++i) {
    v[i] = dma_pool_zalloc(pool, GFP_KERNEL, &h[i]);
    KASSERT(v[i]);
    KEXPECT_EQ(reinterpret_cast<uint64_t>(v[i]) % 32, 0u);
    KEXPECT_EQ(h[i].value(), arch::virt_to_phys(v[i]).value());
    KEXPECT_EQ(h[i].value() / 128, (h[i].value() + 39) / 128);  // no boundary crossed
    KEXPECT_EQ(static_cast<uint8_t*>(v[i])[39], 0);
    memset(v[i], i & 0xff, 40);
  }
  bool intact = true;
  for (int i = 0; i < kN; ++i)
    intact &= static_cast<uint8_t*>(v[i])[0] == (i & 0xff) &&
              static_cast<uint8_t*>(v[i])[39] == (i & 0xff);
  KEXPECT(intact);  // blocks do not overlap
  KEXPECT_EQ(dma_pool_blocks_in_use(pool), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) dma_pool_free(pool, v[i], h[i]);
  dma_pool_free(pool, v[0], h[0]);  // double free: reported, ignored
  KEXPECT_EQ(dma_pool_blocks_in_use(pool), 0u);
  dma_pool_destroy(pool);
  KEXPECT_EQ(nr_free_pages() + slab_nr_pages(), free_before);
}

SELFTEST(dma, bench_map_unmap_direct_and_bounced) {
  if (!dma_init()) return t.skip("no bounce pool");
  Device dev;
  device_init_fake(dev, "dma-bench", true);
  void* buf = dma_test::alloc(512);
  KASSERT(buf);
  constexpr int kIters = 1000;
  for (int bounced = 0; bounced < 2; ++bounced) {
    dev.force_bounce = bounced;
    const uint64_t start = arch::read_instret();
    for (int i = 0; i < kIters; ++i) {
      DmaAddr a = dma_map_single(&dev, buf, 512, DMA_TO_DEVICE);
      dma_unmap_single(&dev, a, 512, DMA_TO_DEVICE);
    }
    const uint64_t per = (arch::read_instret() - start) / kIters;
    t.diag("bench: dma_map_single+unmap %s (512 B, TO_DEVICE): %llu instructions",
           bounced ? "bounced" : "direct", static_cast<unsigned long long>(per));
  }
  dma_test::free(buf);
}
