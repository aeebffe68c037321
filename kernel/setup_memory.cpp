#include "kernel/setup_memory.h"

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/pgtable.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/smp.h"
#include "kernel/boot_info.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "lib/cmdline.h"
#include "mm/page_alloc.h"
#include "lib/compiler.h"
#include "mm/boot_mem.h"
#include "mm/dt_memory.h"
#include "mm/memblock.h"
#include "mm/mm_init.h"
#include "mm/numa.h"

extern "C" char _start[], _etext[], _srodata[], _erodata[], __init_begin[], __init_end[], _sdata[],
    _edata[], __bss_start[], __bss_end[];

namespace k {
namespace {

// The DT's memory description; only needed until the page allocator runs.
__initdata BootMemInfo g_bootmem;

uint64_t span(const char* a, const char* b) { return static_cast<uint64_t>(b - a); }

}  // namespace

__init void setup_memory(const fdt::Fdt& fdt) {
  const arch::Layout& l = arch::g_layout;
  const arch::EarlyBootInfo& e = arch::g_early_boot;
  const PhysRange dtb{e.dtb_pa, e.dtb_size};
  const PhysRange kernel{PhysAddr(l.kernel_phys), l.kernel_size};
  if (auto r = dt_memory_from_fdt(fdt, dtb, kernel, &g_bootmem); !r.ok())
    panic("memory: cannot describe RAM from the device tree (%s)", errno_name(r.error()));
  if (auto r = memblock_init_from_bootmem(g_bootmem); !r.ok())
    panic("memory: memblock initialisation failed (%s)", errno_name(r.error()));
  // Allocations must stay inside what early boot put in the linear map.
  memblock.set_current_limit(PhysAddr(l.phys_ram_base + l.linear_size));
  memblock.allow_resize();
  memblock.dump();
}

__init void setup_page_allocator() {
  KernelSectionSizes sizes;
  sizes.text = span(_start, _etext);
  sizes.rodata = span(_srodata, _erodata);
  sizes.init = span(__init_begin, __init_end);
  sizes.rwdata = span(_sdata, _edata);
  sizes.bss = span(__bss_start, __bss_end);
  const bool debug = cmdline_has(boot_params().cmdline, "mm.debug");
  page_alloc_set_debug(cmdline_get(boot_params().cmdline, "page_alloc_debug").value_or("0") != "0");
  if (!mm_init_page_alloc(g_bootmem, sizes, debug)) panic("memory: page allocator setup failed");
  for (unsigned cpu = 0; cpu < arch::nr_cpus(); ++cpu)
    numa_set_cpu_node(cpu, arch::cpu_info(cpu).node);
}

void free_init_sections() {
  const uint64_t begin = reinterpret_cast<uint64_t>(__init_begin);
  const uint64_t size = span(__init_begin, __init_end);
  if (size == 0) return;
  // Unmap the image alias first (and flush every hart), so freed pages
  // never stay executable through the kernel image mapping (W^X).
  arch::unmap_kernel_range(VirtAddr(begin), size);
  // free_reserved_area() prints Linux's "Freeing unused kernel image" line.
  free_initmem(PhysRange{arch::virt_to_phys(__init_begin), size});
}

}  // namespace k
