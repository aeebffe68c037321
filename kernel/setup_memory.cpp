#include "kernel/setup_memory.h"

#include <arch/memory.h>

#include "arch/riscv/boot/early.h"
#include "kernel/boot_info.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "lib/fdt_boot.h"
#include "mm/memblock.h"

namespace k {
namespace {

void check(Result<void> r, const char* what, PhysAddr base, uint64_t size) {
  if (!r.ok())
    pr_err("memblock: %s [mem 0x%llx-0x%llx] failed: %s\n", what,
           static_cast<unsigned long long>(base.value()),
           static_cast<unsigned long long>(base.value() + size - 1), errno_name(r.error()));
}

}  // namespace

void setup_memory(const fdt::Fdt& fdt) {
  const arch::Layout& l = arch::g_layout;
  const arch::EarlyBootInfo& e = arch::g_early_boot;
  fdt::for_each_memory_region(fdt, [&](PhysRange r, int nid) {
    check(memblock.add(r.base, r.size, nid < 0 ? 0 : nid), "add", r.base, r.size);
  });
  check(memblock.reserve(PhysAddr(l.kernel_phys), l.kernel_size), "reserve kernel",
        PhysAddr(l.kernel_phys), l.kernel_size);
  const PhysAddr dtb = e.dtb_pa.page_down();
  const uint64_t dtb_len = align_up(e.dtb_pa.value() + e.dtb_size, kPageSize) - dtb.value();
  check(memblock.reserve(dtb, dtb_len), "reserve DTB", dtb, dtb_len);
  fdt::for_each_reserved_region(fdt, [&](const fdt::ReservedRegion& r) {
    if (r.dynamic) return;
    check(memblock.reserve(r.range.base, r.range.size), "reserve", r.range.base, r.range.size);
    if (r.no_map || r.name.starts_with("mmode_resv"))
      check(memblock.mark_nomap(r.range.base, r.range.size), "no-map", r.range.base, r.range.size);
  });
  // memblock allocations must stay inside the linear map.
  memblock.set_current_limit(PhysAddr(l.phys_ram_base + l.linear_size));
  memblock.allow_resize();
  memblock.dump();
}

void setup_page_allocator() {}

}  // namespace k
