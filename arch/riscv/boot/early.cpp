// Early boot, MMU off: from the firmware's hand-over to the first page
// table (the role of Linux's setup_vm). Runs at the physical load address,
// so this file must stay position-independent: no absolute pointers, no
// jump tables, no virtual calls, only PC-relative access to globals.
//
// 1. validate the DTB (a bad blob is reported and the machine powered off);
// 2. choose the paging mode: the highest of Sv48/Sv39 the hart accepts
//    (probed through satp, like Linux), capped by the boot hart's DT
//    mmu-type and by `mmu=sv39|sv48` on the command line;
// 3. compute the virtual layout for that mode (docs/memory-layout.md);
// 4. build the kernel page table: the image W^X at its link address and the
//    linear map of RAM (firmware and no-map regions left out) with the
//    largest leaves possible;
// 5. return satp; head.S turns the MMU on and jumps to kernel_main.
#include <cstddef>
#include <cstdint>

#include <arch/memory.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/sbi.h"
#include "arch/riscv/mm/pgtable_map.h"
#include "lib/cmdline.h"
#include "lib/compiler.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"

extern "C" char _start[], _stext[], _etext[], _srodata[], _erodata[], __init_begin[], __init_end[],
    _sdata[], _end[];

namespace arch {

constinit Layout g_layout{};
constinit EarlyBootInfo g_early_boot{};

}  // namespace arch

extern "C" {
// Read by head.S to turn the physical PC into its virtual alias.
uint64_t g_va_pa_offset;
}

namespace {

// The physical address of a linker symbol, PC-relative. Plain `&symbol` in
// an initialiser can be folded into a .rodata table of link-time
// (virtual) addresses, which is wrong while the MMU is off.
#define PHYS_OF(sym)                           \
  ({                                           \
    uint64_t _pa;                              \
    asm volatile("lla %0, " #sym : "=r"(_pa)); \
    _pa;                                       \
  })

using arch::pte::level_size;
using k::PhysAddr;

// Page-table pages for the boot page table, in BSS. Sized for the worst
// case of this stage (the image at 4 KiB granularity plus the edges of
// every RAM region); exhaustion is reported, not ignored. Later tables come
// from the page allocator.
constexpr size_t kEarlyTablePages = 64;
alignas(4096) uint8_t g_early_tables[kEarlyTablePages][4096];
size_t g_early_tables_used;

// Upper bound on a DTB we accept (Linux caps the FDT mapping at 2 MiB
// plus slack; a larger totalsize is treated as corruption).
constexpr size_t kMaxDtbSize = 4u << 20;

__init void early_puts(const char* s) {
  while (*s) arch::sbi::legacy_putchar(*s++);
}

__init void early_put_hex(uint64_t v) {
  char buf[19] = "0x";
  for (int i = 0; i < 16; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  buf[18] = 0;
  early_puts(buf);
}

__init void early_put_sv(std::string_view s) {
  for (char c : s) arch::sbi::legacy_putchar(c);
}

__init [[noreturn]] void early_fail(const char* what) {
  early_puts("\nearly boot: ");
  early_puts(what);
  early_puts("\nearly boot: cannot continue, powering off\n");
  // SRST shutdown with reason "system failure" (SBI spec 10.1); legacy
  // shutdown for firmware without SRST; then park.
  arch::sbi::system_reset(0, 1);
  arch::sbi::call(arch::sbi::kLegacyShutdown, 0);
  for (;;) asm volatile("wfi");
}

__init PhysAddr alloc_table() {
  if (g_early_tables_used == kEarlyTablePages) return PhysAddr(0);
  // MMU off: the address of the BSS array is its physical address.
  return PhysAddr(reinterpret_cast<uint64_t>(g_early_tables[g_early_tables_used++]));
}

__init uint64_t* table_at(PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value()); }

__init void map_or_fail(PhysAddr root, unsigned levels, const arch::MapRequest& req,
                        const char* what) {
  const auto st = arch::map_range(root, levels, req, alloc_table, table_at);
  if (st == arch::MapStatus::kOk) return;
  early_puts("early boot: mapping ");
  early_puts(what);
  early_puts(" at ");
  early_put_hex(req.va);
  early_fail(st == arch::MapStatus::kNoMemory ? "out of early page-table pages"
                                              : "overlapping or misaligned boot mapping");
}

// satp WARL probe (Privileged spec 4.1.11: writing an unsupported MODE
// leaves satp unchanged). The trial table identity-maps the 1 GiB around
// this code so the next fetch after the write is valid.
__init bool hart_accepts(unsigned levels, uint64_t pc) {
  const PhysAddr root = alloc_table();
  if (root.value() == 0) return false;
  uint64_t* t = table_at(root);
  const uint64_t giga = level_size(2);
  const uint64_t base = k::align_down(pc, giga);
  if (levels == 4) {
    const PhysAddr l2 = alloc_table();
    if (l2.value() == 0) return false;
    t[arch::pte::index(base, 3)] = arch::pte::make_table(l2);
    t = table_at(l2);
  }
  t[arch::pte::index(base, 2)] = arch::pte::make(PhysAddr(base), arch::pte::kKernelRWX);
  const uint64_t want = arch::pte::make_satp(levels, root);
  uint64_t got;
  asm volatile(
      "sfence.vma\n"
      "csrw satp, %1\n"
      "csrr %0, satp\n"
      "csrw satp, zero\n"
      "sfence.vma\n"
      : "=&r"(got)
      : "r"(want)
      : "memory");
  // Return the trial pages; the real table is built after the probe.
  g_early_tables_used = 0;
  for (auto& page : g_early_tables)
    for (auto& b : page) b = 0;
  return (got >> 60) == arch::pte::satp_mode_for_levels(levels);
}

__init void set_layout(unsigned levels, uint64_t load_pa, uint64_t ram_base) {
  arch::Layout& l = arch::g_layout;
  l.levels = levels;
  if (levels == 3) {
    // Sv39: 256 GiB kernel half starting at 0xffffffc000000000.
    l.vmemmap_start = 0xffffffc500000000;
    l.vmemmap_size = 4ull << 30;
    l.vmalloc_start = 0xffffffc600000000;
    l.vmalloc_end = 0xffffffd400000000;
    l.percpu_start = 0xffffffd400000000;  // 8 GiB
    l.percpu_end = 0xffffffd600000000;
    l.linear_base = 0xffffffd600000000;
    l.linear_size = 0xfffffff700000000 - 0xffffffd600000000;
  } else {
    // Sv48: 128 TiB kernel half starting at 0xffff800000000000.
    l.vmemmap_start = 0xffff8d8000000000;
    l.vmemmap_size = 2ull << 40;
    l.vmalloc_start = 0xffff8f8000000000;
    l.vmalloc_end = 0xffffad8000000000;
    l.percpu_start = 0xffffad8000000000;  // 2 TiB
    l.percpu_end = 0xffffaf8000000000;
    l.linear_base = 0xffffaf8000000000;
    l.linear_size = 64ull << 40;
  }
  l.phys_ram_base = ram_base;
  l.kernel_virt = KERNEL_VIRT_BASE;
  l.kernel_phys = load_pa;
  l.kernel_size = PHYS_OF(_end) - PHYS_OF(_start);
}

struct Excluded {
  PhysAddr base;
  PhysAddr end;
};

// Firmware regions: OpenSBI <= 1.2 lists its PMP-protected memory in
// /reserved-memory as mmode_resv* without no-map (FACTS.md). Touching it
// faults, so it is treated like no-map: never mapped, never allocated.
__init bool never_mapped(const k::fdt::ReservedRegion& r) {
  return r.no_map || r.name.starts_with("mmode_resv");
}

// The lowest excluded range that ends above `from` and starts below `to`.
__init bool next_excluded(const k::fdt::Fdt& fdt, PhysAddr from, PhysAddr to, Excluded* out) {
  bool found = false;
  k::fdt::for_each_reserved_region(fdt, [&](const k::fdt::ReservedRegion& r) {
    if (r.dynamic || !never_mapped(r)) return;
    const PhysAddr b = r.range.base, e = r.range.end();
    if (e <= from || b >= to) return;
    if (!found || b < out->base) *out = {b, e};
    found = true;
  });
  return found;
}

__init void map_linear_piece(PhysAddr root, unsigned levels, PhysAddr b, PhysAddr e) {
  const arch::Layout& l = arch::g_layout;
  b = b.page_up();
  e = e.page_down();
  if (b >= e) return;
  const uint64_t off = b.value() - l.phys_ram_base;
  if (off >= l.linear_size) return;
  uint64_t size = e - b;
  if (size > l.linear_size - off) size = l.linear_size - off;
  map_or_fail(
      root, levels,
      {l.linear_base + off, b, size, arch::pte::kKernelRW, levels - 1 < 2 ? levels - 1 : 2u},
      "linear map");
}

__init void map_image_piece(PhysAddr root, unsigned levels, uint64_t load_pa, uint64_t start,
                            uint64_t end, uint64_t flags, const char* what) {
  if (end <= start) return;
  const uint64_t va = arch::g_layout.kernel_virt + (start - load_pa);
  map_or_fail(root, levels, {va, PhysAddr(start), end - start, flags, 0}, what);
}

// W^X from the first instruction on: text RX, rodata R, data/bss RW. The
// init sections hold both code and data until they are freed.
__init void map_kernel_image(PhysAddr root, unsigned levels, uint64_t load_pa) {
  map_image_piece(root, levels, load_pa, PHYS_OF(_start), PHYS_OF(_etext), arch::pte::kKernelRX,
                  "kernel text");
  map_image_piece(root, levels, load_pa, PHYS_OF(_srodata), PHYS_OF(_erodata), arch::pte::kKernelRO,
                  "kernel rodata");
  map_image_piece(root, levels, load_pa, PHYS_OF(__init_begin), PHYS_OF(__init_end),
                  arch::pte::kKernelRWX, "kernel init");
  map_image_piece(root, levels, load_pa, PHYS_OF(_sdata), PHYS_OF(_end), arch::pte::kKernelRW,
                  "kernel data");
}

}  // namespace

// A trap before the kernel's handler is installed (head.S early_trap_entry).
extern "C" __init [[noreturn]] void early_trap_report(uint64_t scause, uint64_t sepc,
                                                      uint64_t stval) {
  early_puts("\nUnhandled trap during early boot: scause ");
  early_put_hex(scause);
  early_puts(" sepc ");
  early_put_hex(sepc);
  early_puts(" stval ");
  early_put_hex(stval);
  early_fail("trap before the trap handler was ready");
}

extern "C" __init uint64_t early_setup(uint64_t hartid, uint64_t dtb_pa, uint64_t load_pa) {
  early_puts("\nrvkernel: early boot on hart ");
  early_put_hex(hartid);
  early_puts(", DTB at ");
  early_put_hex(dtb_pa);
  early_puts("\n");

  if (dtb_pa == 0 || !k::is_aligned(dtb_pa, 8))
    early_fail("no device tree (a1 is 0 or misaligned)");
  k::fdt::ParseError perr;
  auto fdt = k::fdt::Fdt::parse(reinterpret_cast<const void*>(dtb_pa), kMaxDtbSize, &perr);
  if (!fdt) {
    early_puts("early boot: invalid device tree: ");
    early_puts(perr.what ? perr.what : "?");
    early_puts(" at offset ");
    early_put_hex(perr.offset);
    early_fail("the DTB the firmware passed is malformed");
  }

  // Paging mode: DT cap from the boot hart's mmu-type.
  unsigned dt_levels = 4;
  bool found_hart = false;
  k::fdt::for_each_hart(*fdt, [&](const k::fdt::HartInfo& h) {
    if (h.hartid != hartid) return;
    found_hart = true;
    if (h.mmu_levels >= 3 && h.mmu_levels < 4) dt_levels = 3;
    if (!h.has_mmu) dt_levels = 0;
  });
  if (found_hart && dt_levels == 0) early_fail("the boot hart has no MMU (mmu-type)");

  unsigned want = dt_levels;
  std::string_view bootargs = k::fdt::chosen_bootargs(*fdt).value_or(std::string_view());
  if (auto m = k::cmdline_get(bootargs, "mmu")) {
    if (*m == "sv39")
      want = 3;
    else if (*m == "sv48")
      want = want < 4 ? want : 4;
    else {
      early_puts("early boot: ignoring unknown mmu=");
      early_put_sv(*m);
      early_puts(" (use sv39 or sv48)\n");
    }
  }
  // Probe before building the real table: the probe recycles the pool.
  const uint64_t pc = load_pa;
  const bool sv48_ok = hart_accepts(4, pc);
  const bool sv39_ok = hart_accepts(3, pc);
  unsigned levels = 0;
  if (want >= 4 && sv48_ok)
    levels = 4;
  else if (sv39_ok)
    levels = 3;
  else
    early_fail("the hart accepts neither Sv48 nor Sv39");

  // Lowest RAM address, rounded down to 1 GiB so the linear map can use
  // gigapages (VA and PA must share alignment).
  uint64_t ram_lo = ~uint64_t{0};
  k::fdt::for_each_memory_region(*fdt, [&](k::PhysRange r, int) {
    if (r.base.value() < ram_lo) ram_lo = r.base.value();
  });
  if (ram_lo == ~uint64_t{0}) early_fail("the device tree describes no memory");
  set_layout(levels, load_pa, k::align_down(ram_lo, level_size(2)));
  g_va_pa_offset = KERNEL_VIRT_BASE - load_pa;

  const PhysAddr root = alloc_table();
  map_kernel_image(root, levels, load_pa);
  k::fdt::for_each_memory_region(*fdt, [&](k::PhysRange r, int) {
    PhysAddr cur = r.base;
    const PhysAddr end = r.end();
    Excluded ex;
    while (cur < end && next_excluded(*fdt, cur, end, &ex)) {
      if (ex.base > cur) map_linear_piece(root, levels, cur, ex.base);
      cur = ex.end > cur ? ex.end : cur;
    }
    if (cur < end) map_linear_piece(root, levels, cur, end);
  });

  arch::EarlyBootInfo& info = arch::g_early_boot;
  info.boot_hartid = hartid;
  info.dtb_pa = PhysAddr(dtb_pa);
  info.dtb_size = fdt->total_size();
  info.root_table = root;
  info.dt_levels = dt_levels;
  info.levels = levels;
  info.early_tables_used = g_early_tables_used;
  info.sv48_capable = sv48_ok;
  info.sv39_capable = sv39_ok;
  info.requested_levels = want;
  return arch::pte::make_satp(levels, root);
}
