// Benchmarks of vmalloc/vfree and ioremap/iounmap (issue 8, item 1), with
// an empty vmalloc space and with 15 000 live one-page areas in the
// background (Linux lib/test_vmalloc.c "long_busy_list_alloc_test"): the
// free-area search must not grow with the number of live areas.
//
// Target (issue 8): vmalloc(4 KiB) + vfree <= 1 500 instructions.
#include <iterator>

#include "kernel/boot_info.h"
#include "kernel/bench.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"
#include "lib/format.h"
#include "mm/ioremap.h"
#include "mm/vmalloc.h"

using namespace k;

namespace {

constexpr size_t kSizes[] = {4096, 16 * 1024, 64 * 1024, 1024 * 1024};
constexpr const char* kSizeNames[] = {"4k", "16k", "64k", "1m"};

// vmalloc+vfree of every size; false if an allocation failed.
bool bench_sizes(bench::Context& b, const char* suffix) {
  char name[40];
  static_assert(std::size(kSizes) == std::size(kSizeNames));
  for (size_t i = 0; i < std::size(kSizes); ++i) {
    const size_t size = kSizes[i];
    vfree(vmalloc(size));  // warm the pcp list and the area cache
    bool ok = true;
    snformat(name, sizeof(name), "vmalloc_%s%s", kSizeNames[i], suffix);
    b.measure(name, b.iters(size >= 1024 * 1024 ? 50 : 500), [&] {
      void* p = vmalloc(size);
      ok &= p != nullptr;
      vfree(p);
    });
    if (!ok) {
      b.fail("%s: vmalloc(%zu) failed", name, size);
      return false;
    }
  }
  return true;
}

// Physical address for ioremap: the console UART (nothing is accessed).
PhysAddr mmio_target() {
  if (auto fdt = fdt::Fdt::parse(boot_dtb(), boot_dtb_size()))
    if (auto n = fdt::stdout_node(*fdt))
      if (auto r = fdt->reg_translated(*n, 0)) return PhysAddr(r->addr);
  return PhysAddr(0x100000);  // QEMU virt sifive,test0
}

}  // namespace

BENCH(vmalloc) {
  if (!vmalloc_ready()) return b.skip("vmalloc not initialised");
  if (!bench_sizes(b, "")) return;

  const uint64_t busy = b.scale(15000, 64);
  // The pointer table itself is one vmalloc area (15 000 * 8 bytes).
  auto** live = static_cast<void**>(vmalloc(busy * sizeof(void*)));
  if (!live) return b.fail("vmalloc of the busy-list table failed");
  uint64_t made = 0;
  for (; made < busy; ++made) {
    live[made] = vmalloc(4096);
    if (!live[made]) break;
  }
  if (made == busy) {
    b.diag("vmalloc: %llu live areas in the background", static_cast<unsigned long long>(made));
    bench_sizes(b, "_busy");
  } else {
    b.fail("vmalloc: only %llu of %llu background areas", static_cast<unsigned long long>(made),
           static_cast<unsigned long long>(busy));
  }
  for (uint64_t i = 0; i < made; ++i) vfree(live[i]);
  vfree(live);
}

BENCH(ioremap) {
  if (!vmalloc_ready()) return b.skip("vmalloc not initialised");
  const PhysAddr pa = mmio_target();
  bool ok = true;
  iounmap(ioremap(pa, 0x100));
  b.measure("ioremap_iounmap", b.iters(500), [&] {
    void* p = ioremap(pa, 0x100);
    ok &= p != nullptr;
    iounmap(p);
  });
  if (!ok) b.fail("ioremap failed during the run");
}
