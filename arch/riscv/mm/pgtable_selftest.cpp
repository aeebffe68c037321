// Self-tests of the kernel page table: W^X of the image read back from the
// table itself, linear-map leaf sizes, the firmware hole, and map /
// protect / unmap with large leaves on the live table.
#include <arch/memory.h>
#include <arch/pgtable.h>
#include <arch/tlb.h>

#include "arch/riscv/kernel/trap.h"
#include "kernel/boot_info.h"
#include "kernel/selftest.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/vmalloc.h"

extern "C" char _start[], _stext[], _etext[], _srodata[], _erodata[], _sdata[], _end[];

namespace {

namespace pte = arch::pte;

struct PermCheck {
  uint64_t must_have;
  uint64_t must_not_have;
  uint64_t leaves = 0;
  uint64_t bad = 0;
  uint64_t first_bad_va = 0;
};

void check_perms(uint64_t va, uint64_t e, unsigned, void* ctx) {
  auto* c = static_cast<PermCheck*>(ctx);
  ++c->leaves;
  const bool ok = (e & c->must_have) == c->must_have && !(e & c->must_not_have);
  if (!ok && c->bad++ == 0) c->first_bad_va = va;
}

PermCheck walk_perms(const char* lo, const char* hi, uint64_t must, uint64_t must_not) {
  PermCheck c{must, must_not};
  const uint64_t a = k::align_down(reinterpret_cast<uint64_t>(lo), k::kPageSize);
  const uint64_t b = k::align_up(reinterpret_cast<uint64_t>(hi), k::kPageSize);
  if (b > a) arch::walk_kernel_range(k::VirtAddr(a), b - a, check_perms, &c);
  return c;
}

}  // namespace

SELFTEST(pgtable, kernel_image_is_wx_in_the_page_table) {
  // Text RX (kernel global, A preset), rodata R, data/bss RW and never X.
  const uint64_t base = pte::kValid | pte::kGlobal | pte::kAccessed;
  auto text = walk_perms(_stext, _etext, base | pte::kRead | pte::kExec, pte::kWrite | pte::kUser);
  auto ro =
      walk_perms(_srodata, _erodata, base | pte::kRead, pte::kWrite | pte::kExec | pte::kUser);
  // Data/bss RW with D preset, except (after mark_rodata_ro()) the
  // image's own page-table pages in .bss, which are read-only.
  auto data = walk_perms(_sdata, _end, base | pte::kRead, pte::kExec | pte::kUser);
  auto data_rw = walk_perms(_sdata, _end, base | pte::kRead | pte::kWrite | pte::kDirty,
                            pte::kExec | pte::kUser);
  uint64_t tables_in_image = 0;
  arch::for_each_kernel_image_table(
      [](k::PhysAddr pa, void* ctx) {
        if (pa.value() - arch::g_layout.kernel_phys < arch::g_layout.kernel_size)
          ++*static_cast<uint64_t*>(ctx);
      },
      &tables_in_image);
  KEXPECT_EQ(data_rw.bad, arch::rodata_ro_done() ? tables_in_image : 0u);
  KEXPECT_EQ(text.bad, 0u);
  KEXPECT_EQ(ro.bad, 0u);
  KEXPECT_EQ(data.bad, 0u);
  // Every page of each section is mapped (4 KiB leaves in the image).
  KEXPECT_EQ(text.leaves, (k::align_up(reinterpret_cast<uint64_t>(_etext), k::kPageSize) -
                           reinterpret_cast<uint64_t>(_stext)) /
                              k::kPageSize);
  KEXPECT(ro.leaves > 0 && data.leaves > 0);
  if (text.bad)
    t.diag("text leaf at 0x%llx has wrong permissions", (unsigned long long)text.first_bad_va);
  if (ro.bad)
    t.diag("rodata leaf at 0x%llx has wrong permissions", (unsigned long long)ro.first_bad_va);
  if (data.bad)
    t.diag("data leaf at 0x%llx has wrong permissions", (unsigned long long)data.first_bad_va);
}

namespace {

// Linear-map leaves: counts per size, and every leaf smaller than 1 GiB
// whose enclosing larger block is fully mapped, physically contiguous and
// aligned is a missed opportunity.
struct LinearScan {
  uint64_t count[3] = {};
  // Blocks to re-examine (deduplicated by address), level of the block.
  static constexpr unsigned kMax = 64;
  uint64_t block_va[kMax];
  unsigned block_level[kMax];
  unsigned nr_blocks = 0;
  bool overflow = false;
};

void scan_linear(uint64_t va, uint64_t e, unsigned level, void* ctx) {
  auto* s = static_cast<LinearScan*>(ctx);
  if (level < 3) ++s->count[level];
  if (level >= 2) return;
  const uint64_t bsz = pte::level_size(level + 1);
  const uint64_t block = k::align_down(va, bsz);
  // A bigger leaf needs pa aligned like va.
  const uint64_t pa_block = pte::phys(e).value() - (va - block);
  if (!k::is_aligned(pa_block, bsz)) return;
  if (s->nr_blocks && s->block_va[s->nr_blocks - 1] == block) return;
  if (s->nr_blocks == LinearScan::kMax) {
    s->overflow = true;
    return;
  }
  s->block_va[s->nr_blocks] = block;
  s->block_level[s->nr_blocks++] = level + 1;
}

struct BlockCheck {
  uint64_t expect_pa;  // next expected physical address
  uint64_t flags;
  uint64_t bytes = 0;
  bool contiguous = true;
  bool first = true;
};

void check_block(uint64_t va, uint64_t e, unsigned level, void* ctx) {
  auto* b = static_cast<BlockCheck*>(ctx);
  (void)va;
  const uint64_t pa = pte::phys(e).value();
  const uint64_t flags = e & ~(pte::kPpnMask << pte::kPpnShift);
  if (b->first) {
    b->flags = flags;
    b->first = false;
  } else if (pa != b->expect_pa || flags != b->flags) {
    b->contiguous = false;
  }
  b->expect_pa = pa + pte::level_size(level);
  b->bytes += pte::level_size(level);
}

}  // namespace

SELFTEST(pgtable, linear_map_uses_the_largest_leaves) {
  const arch::Layout& l = arch::g_layout;
  LinearScan s;
  arch::walk_kernel_range(k::VirtAddr(l.linear_base), l.linear_size, scan_linear, &s);
  t.diag("linear map leaves: %llu x 1G, %llu x 2M, %llu x 4K", (unsigned long long)s.count[2],
         (unsigned long long)s.count[1], (unsigned long long)s.count[0]);
  KEXPECT(s.count[0] + s.count[1] + s.count[2] > 0);
  KEXPECT(!s.overflow);
  unsigned missed = 0;
  for (unsigned i = 0; i < s.nr_blocks; ++i) {
    BlockCheck b{};
    const uint64_t bsz = pte::level_size(s.block_level[i]);
    arch::walk_kernel_range(k::VirtAddr(s.block_va[i]), bsz, check_block, &b);
    if (b.bytes == bsz && b.contiguous) {
      if (missed++ < 4)
        t.diag("block 0x%llx could be one %s leaf", (unsigned long long)s.block_va[i],
               s.block_level[i] == 2 ? "1G" : "2M");
    }
  }
  KEXPECT_EQ(missed, 0u);
}

SELFTEST(pgtable, firmware_and_no_map_regions_are_not_mapped) {
  auto fdt = k::fdt::Fdt::parse(k::boot_dtb(), k::boot_dtb_size());
  KASSERT(fdt.has_value());
  unsigned regions = 0, mapped = 0;
  uint64_t pages = 0;
  k::fdt::for_each_reserved_region(*fdt, [&](const k::fdt::ReservedRegion& r) {
    if (r.dynamic || !(r.no_map || r.name.starts_with("mmode_resv"))) return;
    ++regions;
    const uint64_t lo = r.range.base.page_down().value();
    const uint64_t hi = r.range.end().page_up().value();
    for (uint64_t pa = lo; pa < hi; pa += k::kPageSize) {
      if (pa < arch::g_layout.phys_ram_base) continue;
      ++pages;
      const uint64_t va = reinterpret_cast<uint64_t>(arch::phys_to_virt(k::PhysAddr(pa)));
      if (arch::lookup_kernel_address(k::VirtAddr(va))) {
        if (mapped++ < 4)
          t.diag("0x%llx (in %.*s) is mapped", (unsigned long long)pa,
                 static_cast<int>(r.name.size()), r.name.data());
      }
    }
  });
  if (regions == 0) {
    t.skip("no firmware or no-map regions in the DT");
    return;
  }
  t.diag("%u regions, %llu pages checked", regions, (unsigned long long)pages);
  KEXPECT_EQ(mapped, 0u);
  // QEMU virt + OpenSBI: the firmware is at the bottom of RAM.
  if (arch::g_layout.phys_ram_base == 0x80000000) {
    const uint64_t va = reinterpret_cast<uint64_t>(arch::phys_to_virt(k::PhysAddr(0x80000000)));
    KEXPECT(!arch::lookup_kernel_address(k::VirtAddr(va)));
    KEXPECT(arch::probe_read(reinterpret_cast<void*>(va + 0x7f000)));
  }
}

SELFTEST(pgtable, map_protect_split_unmap_on_the_live_table) {
  if (!k::vmalloc_ready()) {
    t.skip("vmalloc_init() was not called");
    return;
  }
  const uint64_t k2M = pte::level_size(1);
  const uint64_t tables_before = arch::nr_kernel_pgtable_pages();
  k::VmapArea* area = k::get_vm_area(2 * k2M, k2M, 0, nullptr);
  KASSERT(area != nullptr);
  k::Page* block = k::alloc_pages(k::GFP_KERNEL | k::__GFP_ZERO, 9);  // 2 MiB
  if (!block) {
    k::free_vm_area(area);
    t.skip("no 2 MiB block free");
    return;
  }
  const k::PhysAddr pa = k::page_to_phys(block);
  auto* lin = static_cast<volatile uint64_t*>(k::page_address(block));
  lin[0] = 0x1234;
  lin[(k2M - 8) / 8] = 0x5678;
  const uint64_t va = area->addr;
  KEXPECT(k::is_aligned(va, k2M));
  auto r = arch::map_kernel_range(k::VirtAddr(va), pa, k2M, arch::PAGE_KERNEL, arch::kLeaf2M);
  KEXPECT(r.ok());
  arch::flush_cache_vmap(va, k2M);
  auto l = arch::lookup_kernel_address(k::VirtAddr(va + 4096 + 8));
  KEXPECT(l.has_value() && l->level == 1 && l->pa == pa + 4096 + 8);
  auto* v = reinterpret_cast<volatile uint64_t*>(va);
  KEXPECT_EQ(v[0], 0x1234u);
  KEXPECT_EQ(v[(k2M - 8) / 8], 0x5678u);
  // Mapping over it again is refused.
  KEXPECT(arch::map_kernel_range(k::VirtAddr(va), pa, 4096, arch::PAGE_KERNEL, 0).error() ==
          k::Errno::kEEXIST);
  // Read-only for one page in the middle: the 2 MiB leaf is split.
  KEXPECT(arch::protect_kernel_range(k::VirtAddr(va + 8 * 4096), 4096, arch::PAGE_KERNEL_RO).ok());
  l = arch::lookup_kernel_address(k::VirtAddr(va + 8 * 4096));
  KEXPECT(l.has_value() && l->level == 0);
  KEXPECT(arch::probe_write(reinterpret_cast<void*>(va + 8 * 4096)));
  KEXPECT(!arch::probe_read(reinterpret_cast<void*>(va + 8 * 4096)));
  KEXPECT(!arch::probe_write(reinterpret_cast<void*>(va + 9 * 4096)));
  KEXPECT_EQ(v[(k2M - 8) / 8], 0x5678u);
  // Unmap one page: it faults, its neighbours still work.
  arch::unmap_kernel_range(k::VirtAddr(va + 3 * 4096), 4096);
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(va + 3 * 4096)));
  KEXPECT(!arch::probe_read(reinterpret_cast<void*>(va + 2 * 4096)));
  arch::unmap_kernel_range(k::VirtAddr(va), 2 * k2M);
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(va)));
  KEXPECT(!arch::lookup_kernel_address(k::VirtAddr(va + k2M - 1)));
  k::free_vm_area(area);
  k::__free_pages(block, 9);
  KEXPECT_EQ(arch::nr_kernel_pgtable_pages(), tables_before);
}

SELFTEST(pgtable, bad_requests_are_refused) {
  KEXPECT(arch::map_kernel_range(k::VirtAddr(arch::g_layout.vmalloc_start + 5), k::PhysAddr(0),
                                 4096, arch::PAGE_KERNEL, 0)
              .error() == k::Errno::kEINVAL);
  // Non-canonical (inside the hole between the halves).
  KEXPECT(arch::map_kernel_range(
              k::VirtAddr(0x0000800000000000ull >> (arch::g_layout.levels == 3 ? 9 : 0)),
              k::PhysAddr(0x80000000), 4096, arch::PAGE_KERNEL, 0)
              .error() == k::Errno::kEINVAL);
  KEXPECT(arch::map_kernel_range(k::VirtAddr(arch::g_layout.vmalloc_start), k::PhysAddr(0x80000000),
                                 4096, 0, 0)
              .error() == k::Errno::kEINVAL);
}

// mark_rodata_ro() (issue 9 item 4): what it protects, and that the
// page-table layer refuses to undo it.
namespace {

// Boot runs mark_rodata_ro() before the self-tests: not having run is a
// failure, not a reason to skip.
bool rodata_ro_ready(k::selftest::Context& t) {
  KEXPECT(arch::rodata_ro_done());
  return arch::rodata_ro_done();
}

char* linear_alias_of(const void* image_va) {
  return static_cast<char*>(arch::phys_to_virt(arch::virt_to_phys(image_va)));
}

// A .data byte that only this test touches.
volatile char g_writable_data_probe = 1;

struct TableProbe {
  unsigned tables = 0;
  unsigned linear_ro = 0;
  unsigned in_image = 0;
  unsigned image_ro = 0;
};

void probe_table(k::PhysAddr pa, void* ctx) {
  auto* p = static_cast<TableProbe*>(ctx);
  ++p->tables;
  auto* lin = static_cast<char*>(arch::phys_to_virt(pa));
  if (!arch::probe_read(lin) && arch::probe_write(lin)) ++p->linear_ro;
  const arch::Layout& l = arch::g_layout;
  if (pa.value() - l.kernel_phys < l.kernel_size) {
    ++p->in_image;
    auto* img = reinterpret_cast<char*>(l.kernel_virt + (pa.value() - l.kernel_phys));
    if (!arch::probe_read(img) && arch::probe_write(img)) ++p->image_ro;
  }
}

}  // namespace

SELFTEST(rodata_ro, text_and_rodata_are_read_only_through_the_linear_map) {
  if (!rodata_ro_ready(t)) return;
  const uint64_t last_text = reinterpret_cast<uint64_t>(_etext) - 1;
  const uint64_t last_rodata = reinterpret_cast<uint64_t>(_erodata) - 1;
  for (const uint64_t p : {reinterpret_cast<uint64_t>(_stext), last_text,
                           reinterpret_cast<uint64_t>(_srodata), last_rodata}) {
    char* alias = linear_alias_of(reinterpret_cast<const void*>(p));
    KEXPECT(arch::is_linear_addr(alias));
    KEXPECT(!arch::probe_read(alias));
    KEXPECT(arch::probe_write(alias));
  }
  // Data stays writable through both aliases.
  KEXPECT(!arch::probe_write(&g_writable_data_probe));
  KEXPECT(!arch::probe_write(linear_alias_of(const_cast<char*>(&g_writable_data_probe))));
}

SELFTEST(rodata_ro, image_page_tables_are_read_only_through_both_aliases) {
  if (!rodata_ro_ready(t)) return;
  TableProbe p;
  arch::for_each_kernel_image_table(probe_table, &p);
  t.diag("%u page-table pages map the image, %u of them in .bss", p.tables, p.in_image);
  // At least one table per level below the root.
  KEXPECT(p.tables >= arch::g_layout.levels - 1);
  KEXPECT_EQ(p.linear_ro, p.tables);
  KEXPECT_EQ(p.image_ro, p.in_image);
}

SELFTEST(rodata_ro, edits_of_the_image_mappings_are_refused) {
  if (!rodata_ro_ready(t)) return;
  const uint64_t text = reinterpret_cast<uint64_t>(_stext);
  const uint64_t tables_before = arch::nr_kernel_pgtable_pages();
  KEXPECT(arch::protect_kernel_range(k::VirtAddr(text), k::kPageSize, arch::PAGE_KERNEL).error() ==
          k::Errno::kEPERM);
  KEXPECT(
      arch::protect_kernel_range(k::VirtAddr(reinterpret_cast<uint64_t>(linear_alias_of(_srodata))),
                                 k::kPageSize, arch::PAGE_KERNEL)
          .error() == k::Errno::kEPERM);
  KEXPECT(arch::map_kernel_range(
              k::VirtAddr(arch::g_layout.kernel_virt + arch::g_layout.kernel_size - k::kPageSize),
              arch::virt_to_phys(_srodata), k::kPageSize, arch::PAGE_KERNEL, 0)
              .error() == k::Errno::kEPERM);
  KEXPECT(arch::remap_kernel_page(k::VirtAddr(text), arch::virt_to_phys(_sdata), arch::PAGE_KERNEL)
              .error() == k::Errno::kEPERM);
  arch::unmap_kernel_range(k::VirtAddr(text), k::kPageSize);  // refused: text stays mapped
  KEXPECT(!arch::probe_read(_stext));
  KEXPECT(arch::probe_write(_stext));
  KEXPECT(arch::probe_write(linear_alias_of(_srodata)));
  KEXPECT_EQ(arch::nr_kernel_pgtable_pages(), tables_before);
}
