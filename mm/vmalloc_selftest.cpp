// Self-tests of vmalloc, vmap, ioremap and guarded kernel stacks on the
// live page table: contents, guard pages (probe faults), foreign frees,
// node placement, leak counters and instruction-count benchmarks.
#include <arch/cpu.h>
#include <arch/io.h>
#include <arch/memory.h>
#include <arch/percpu.h>
#include <arch/pgtable.h>

#include "arch/riscv/kernel/trap.h"
#include "kernel/boot_info.h"
#include "kernel/selftest.h"
#include "kernel/stack.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"
#include "mm/ioremap.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/vmalloc.h"

SELFTEST_COUNTER(vmalloc_pages, [] { return k::nr_vmalloc_pages(); });
SELFTEST_COUNTER(vmap_areas, [] { return k::nr_vmap_areas(); });
SELFTEST_COUNTER(kernel_pgtable_pages, [] { return arch::nr_kernel_pgtable_pages(); });

namespace {

bool ready(k::selftest::Context& t) {
  if (k::vmalloc_ready()) return true;
  t.skip("vmalloc_init() was not called");
  return false;
}

}  // namespace

SELFTEST(vmalloc, contents_survive_and_guard_page_faults) {
  if (!ready(t)) return;
  k::vmalloc_purge();  // tables earlier frees emptied go now, not in the middle
  const uint64_t free0 = k::nr_free_pages();
  const uint64_t pages0 = k::nr_vmalloc_pages();
  constexpr size_t kSizes[] = {1, 4096, 4097, 16384, 100000, 1 << 20};
  void* p[6];
  for (int i = 0; i < 6; ++i) {
    p[i] = k::vmalloc(kSizes[i]);
    KASSERT(p[i] != nullptr);
    KEXPECT(k::is_vmalloc_addr(p[i]));
    KEXPECT(k::is_aligned(reinterpret_cast<uint64_t>(p[i]), 4096));
    auto* w = static_cast<uint8_t*>(p[i]);
    for (size_t b = 0; b < kSizes[i]; ++b) w[b] = static_cast<uint8_t>(b * 7 + i);
  }
  KEXPECT_EQ(k::nr_vmalloc_pages() - pages0, 1u + 1 + 2 + 4 + 25 + 256);
  for (int i = 0; i < 6; ++i) {
    const auto* w = static_cast<const uint8_t*>(p[i]);
    size_t bad = 0;
    for (size_t b = 0; b < kSizes[i]; ++b) bad += w[b] != static_cast<uint8_t>(b * 7 + i);
    KEXPECT_EQ(bad, 0u);
    // The page after the area is its guard: unmapped.
    const uint64_t end = k::align_up(reinterpret_cast<uint64_t>(p[i]) + kSizes[i], 4096);
    KEXPECT(arch::probe_read(reinterpret_cast<void*>(end)));
    KEXPECT(arch::probe_write(reinterpret_cast<void*>(end + 4095)));
    // The last mapped byte works.
    KEXPECT(!arch::probe_write(reinterpret_cast<uint8_t*>(end) - 1));
  }
  // Linear-map aliases of the pages hold the same bytes.
  k::Page* pg = k::vmalloc_to_page(static_cast<uint8_t*>(p[5]) + 5 * 4096 + 3);
  KASSERT(pg != nullptr);
  KEXPECT_EQ(static_cast<uint8_t*>(k::page_address(pg))[3],
             static_cast<uint8_t>((5 * 4096 + 3) * 7 + 5));
  for (void* q : p) k::vfree(q);
  KEXPECT_EQ(k::nr_vmalloc_pages(), pages0);
  // Freed addresses fault again.
  for (void* q : p) KEXPECT(arch::probe_read(q));
  // Their ranges wait for the lazy purge, which also frees the page-table
  // pages they emptied.
  KEXPECT(k::nr_lazy_vmap_pages() >= 1u + 1 + 2 + 4 + 25 + 256 + 6);
  k::vmalloc_purge();
  KEXPECT_EQ(k::nr_lazy_vmap_pages(), 0u);
  KEXPECT_EQ(k::nr_free_pages(), free0);
}

SELFTEST(vmalloc, vzalloc_returns_zeroed_memory) {
  if (!ready(t)) return;
  // Dirty some pages first so zeroing is not an accident.
  void* d = k::vmalloc(64 * 1024);
  KASSERT(d != nullptr);
  for (size_t i = 0; i < 64 * 1024; ++i) static_cast<uint8_t*>(d)[i] = 0xa5;
  k::vfree(d);
  auto* z = static_cast<uint64_t*>(k::vzalloc(64 * 1024));
  KASSERT(z != nullptr);
  uint64_t nonzero = 0;
  for (size_t i = 0; i < 64 * 1024 / 8; ++i) nonzero += z[i] != 0;
  KEXPECT_EQ(nonzero, 0u);
  k::vfree(z);
}

SELFTEST(vmalloc, foreign_and_double_frees_are_reported_and_ignored) {
  if (!ready(t)) return;
  void* p = k::vmalloc(8192);
  KASSERT(p != nullptr);
  const uint64_t pages = k::nr_vmalloc_pages();
  const uint64_t areas = k::nr_vmap_areas();
  static uint64_t not_vmalloc;
  k::vfree(&not_vmalloc);                                                      // kernel image
  k::vfree(static_cast<uint8_t*>(p) + 4096);                                   // inside an area
  k::vfree(reinterpret_cast<void*>(arch::g_layout.vmalloc_start + 4096 * 7));  // unused range
  KEXPECT_EQ(k::nr_vmalloc_pages(), pages);
  KEXPECT_EQ(k::nr_vmap_areas(), areas);
  KEXPECT(!arch::probe_read(p));
  static_cast<volatile uint8_t*>(p)[8191] = 1;
  k::vfree(p);
  k::vfree(p);  // double free: reported, ignored
  k::vfree(nullptr);
  KEXPECT_EQ(k::nr_vmap_areas(), areas - 1);
  KEXPECT(k::vmalloc(0) == nullptr);
  KEXPECT(k::vmalloc(~size_t{0} - 100) == nullptr);
}

SELFTEST(vmalloc, vmalloc_node_places_pages_on_the_node) {
  if (!ready(t)) return;
  const int node = static_cast<int>(arch::cpu_block_of(arch::nr_cpus() - 1)->node);
  auto* p = static_cast<uint8_t*>(k::vmalloc_node(16 * 4096, node));
  KASSERT(p != nullptr);
  unsigned on_node = 0;
  for (int i = 0; i < 16; ++i) {
    p[i * 4096] = 1;
    k::Page* pg = k::vmalloc_to_page(p + i * 4096);
    on_node += pg && pg->nid == node;
  }
  KEXPECT_EQ(on_node, 16u);
  t.diag("16 pages on node %d", node);
  k::vfree(p);
}

SELFTEST(vmalloc, vmap_maps_existing_pages_and_vunmap_keeps_them) {
  if (!ready(t)) return;
  k::Page* pages[3];
  for (auto& pg : pages) {
    pg = k::alloc_page(k::GFP_KERNEL | k::__GFP_ZERO);
    KASSERT(pg != nullptr);
  }
  for (int i = 0; i < 3; ++i) *static_cast<uint32_t*>(k::page_address(pages[i])) = 0xabc0 + i;
  auto* v = static_cast<uint8_t*>(k::vmap(pages, 3, k::VM_MAP, 0));
  KASSERT(v != nullptr);
  for (int i = 0; i < 3; ++i) KEXPECT_EQ(*reinterpret_cast<uint32_t*>(v + i * 4096), 0xabc0u + i);
  KEXPECT(arch::probe_read(v + 3 * 4096));  // guard
  k::vfree(v);                              // not a vmalloc area: reported, ignored
  KEXPECT(!arch::probe_read(v));
  k::vunmap(v);
  KEXPECT(arch::probe_read(v));
  for (int i = 0; i < 3; ++i)
    KEXPECT_EQ(*static_cast<uint32_t*>(k::page_address(pages[i])), 0xabc0u + i);
  for (auto* pg : pages) k::__free_page(pg);
}

SELFTEST(vmalloc, many_areas_fragment_and_merge_back) {
  if (!ready(t)) return;
  constexpr int kN = 256;
  static void* v[kN];
  const uint64_t areas0 = k::nr_vmap_areas();
  for (int i = 0; i < kN; ++i) {
    v[i] = k::vmalloc(4096 * (1 + i % 3));
    KASSERT(v[i] != nullptr);
  }
  for (int i = 0; i < kN; i += 2) k::vfree(v[i]);
  // A larger area fits in no single hole of the fragmented part and
  // still succeeds (higher up).
  void* big = k::vmalloc(64 * 4096);
  KEXPECT(big != nullptr);
  k::vfree(big);
  for (int i = 1; i < kN; i += 2) k::vfree(v[i]);
  KEXPECT_EQ(k::nr_vmap_areas(), areas0);
}

SELFTEST(vmalloc, vmallocinfo_lists_live_areas) {
  if (!ready(t)) return;
  void* p = k::vmalloc(3 * 4096);
  KASSERT(p != nullptr);
  t.diag("vmallocinfo:");
  k::vmallocinfo_dump();
  k::vfree(p);
}

SELFTEST(vmalloc, bench_vmalloc_16k_vfree) {
  if (!ready(t)) return;
  constexpr int kRounds = 16;
  // Warm up the pcp lists and the area pool.
  k::vfree(k::vmalloc(16384));
  const uint64_t i0 = arch::read_instret();
  for (int r = 0; r < kRounds; ++r) k::vfree(k::vmalloc(16384));
  const uint64_t i1 = arch::read_instret();
  t.diag("bench: vmalloc(16 KiB)+vfree: %llu instructions",
         (unsigned long long)((i1 - i0) / kRounds));
}

namespace {

// The console UART from /chosen stdout-path, else QEMU's test device.
// A device register that reads the same twice, and how wide an access the
// device takes: the 16550 LSR (offset 5 << reg-shift, reg-io-width bytes)
// or the SiFive UART's txctrl (offset 8; the SiFive UART only takes 32-bit
// accesses, FU540 manual 13.4).
struct MmioReg {
  unsigned offset = 5;
  unsigned width = 1;
};

k::PhysAddr mmio_target(const char** what, MmioReg* reg = nullptr) {
  MmioReg r;
  auto fdt = k::fdt::Fdt::parse(k::boot_dtb(), k::boot_dtb_size());
  if (fdt) {
    if (auto n = k::fdt::stdout_node(*fdt)) {
      if (auto rg = fdt->reg_translated(*n, 0)) {
        *what = "stdout UART";
        if (k::fdt::Fdt::is_compatible(*n, "sifive,uart0")) {
          r = {8, 4};
        } else {
          const unsigned shift = n->prop("reg-shift") ? n->prop("reg-shift")->u32().value_or(0) : 0;
          const unsigned width =
              n->prop("reg-io-width") ? n->prop("reg-io-width")->u32().value_or(1) : 1;
          r = {5u << shift, width == 4 ? 4u : 1u};
        }
        if (reg) *reg = r;
        return k::PhysAddr(rg->addr);
      }
    }
  }
  *what = "sifive,test0";
  if (reg) *reg = {0, 4};
  return k::PhysAddr(0x100000);
}

uint32_t read_reg(const volatile uint8_t* p, unsigned width) {
  return width == 4 ? arch::readl(p) : arch::readb(p);
}

}  // namespace

SELFTEST(ioremap, two_mappings_of_the_uart_read_the_same_register) {
  if (!ready(t)) return;
  const char* what = "";
  MmioReg reg;
  const k::PhysAddr pa = mmio_target(&what, &reg);
  const uint64_t areas = k::nr_vmap_areas();
  // A base that is not page-aligned and a size below a page.
  auto* a = static_cast<volatile uint8_t*>(k::ioremap(pa + reg.offset, reg.width));
  auto* b = static_cast<volatile uint8_t*>(k::ioremap(pa, 0x100));
  KASSERT(a != nullptr && b != nullptr);
  KEXPECT(a != b + reg.offset);
  KEXPECT_EQ(reinterpret_cast<uint64_t>(a) & 0xfff, (pa.value() + reg.offset) & 0xfff);
  const uint32_t va = read_reg(a, reg.width);
  const uint32_t vb = read_reg(b + reg.offset, reg.width);
  KEXPECT_EQ(va, vb);
  // The page table says IO (Svpbmt) or plain, as io_pte_flags() does.
  auto l = arch::lookup_kernel_address(k::VirtAddr(reinterpret_cast<uint64_t>(a)));
  KEXPECT(l.has_value() && l->pa == pa + reg.offset);
  if (l) KEXPECT_EQ(l->pte & arch::pte::kPbmtMask, arch::pgprot_io() & arch::pte::kPbmtMask);
  t.diag("%s at 0x%llx: register +0x%x reads 0x%x through both mappings%s", what,
         (unsigned long long)pa.value(), reg.offset, va,
         (arch::pgprot_io() & arch::pte::kPbmtMask) ? ", Svpbmt IO" : "");
  KEXPECT(arch::probe_read(b + 4096));  // guard page after the 1-page area
  k::iounmap(a);
  k::iounmap(b + 0x10);  // any address in the first page
  KEXPECT(arch::probe_read(a));
  k::iounmap(b);  // already gone: reported, ignored
  KEXPECT_EQ(k::nr_vmap_areas(), areas);
  KEXPECT(k::ioremap(pa, 0) == nullptr);
  KEXPECT(k::ioremap(k::PhysAddr(~uint64_t{0} - 10), 100) == nullptr);
}

SELFTEST(ioremap, bench_ioremap_iounmap) {
  if (!ready(t)) return;
  const char* what = "";
  const k::PhysAddr pa = mmio_target(&what);
  k::iounmap(k::ioremap(pa, 0x100));
  constexpr int kRounds = 16;
  const uint64_t i0 = arch::read_instret();
  for (int r = 0; r < kRounds; ++r) k::iounmap(k::ioremap(pa, 0x100));
  const uint64_t i1 = arch::read_instret();
  t.diag("bench: ioremap+iounmap (one page): %llu instructions",
         (unsigned long long)((i1 - i0) / kRounds));
}

SELFTEST(kstack, guard_page_below_a_vmalloc_stack_faults) {
  if (!ready(t)) return;
  const k::KernelStack s = k::alloc_kernel_stack();
  KASSERT(static_cast<bool>(s));
  KEXPECT_EQ(s.top - s.base, k::kKernelStackSize);
  KEXPECT(!arch::probe_write(reinterpret_cast<void*>(s.base)));
  KEXPECT(!arch::probe_write(reinterpret_cast<void*>(s.top - 1)));
  KEXPECT(arch::probe_write(reinterpret_cast<void*>(s.base - 1)));
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(s.base - 4096)));
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(s.top)));
  KEXPECT(k::in_stack_guard(s.base - 8, s.base));
  KEXPECT(!k::in_stack_guard(s.base, s.base));
  k::free_kernel_stack(s);
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(s.base)));
}

SELFTEST(kstack, every_cpu_has_an_overflow_stack_and_vmalloc_stacks) {
  if (!ready(t)) return;
  unsigned with_overflow = 0, guarded = 0;
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) {
    const arch::CpuBlock* b = arch::cpu_block_of(c);
    if (b->overflow_sp) {
      ++with_overflow;
      KEXPECT(
          arch::probe_read(reinterpret_cast<void*>(b->overflow_sp - k::kOverflowStackSize - 1)));
    }
    if (k::is_vmalloc_addr(reinterpret_cast<void*>(b->stack_base))) {
      ++guarded;
      KEXPECT(arch::probe_read(reinterpret_cast<void*>(b->stack_base - 1)));
    }
  }
  KEXPECT_EQ(with_overflow, arch::nr_cpus());
  t.diag("%u of %u CPUs run on guarded vmalloc stacks (the boot hart keeps its image stack)",
         guarded, arch::nr_cpus());
}
