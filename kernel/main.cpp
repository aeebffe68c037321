// Kernel initialisation on the boot hart, in the order of
// docs/boot-flow.md: console, device tree, memory, per-CPU areas, traps and
// timer, drivers, other harts, self-tests.
#include <cstdint>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/pgtable.h>
#include <arch/platform.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/setup.h"
#include "arch/riscv/kernel/smp.h"
#include "arch/riscv/kernel/trap.h"
#include "board/board.h"
#include "drivers/driver.h"
#include "kernel/bench.h"
#include "kernel/boot_info.h"
#include "kernel/console.h"
#include "kernel/panic.h"
#include "kernel/oops_test.h"
#include "kernel/irq.h"
#include "kernel/printk.h"
#include "kernel/proc/process.h"
#include "kernel/proc/runner.h"
#include "kernel/selftest.h"
#include "kernel/setup_memory.h"
#include "kernel/stack.h"
#include "fs/initramfs_boot.h"
#include "mm/numa.h"
#include "mm/kfence.h"
#include "mm/slab.h"
#include "mm/dma/dma_mapping.h"
#include "mm/fault_inject.h"
#include "mm/vmalloc.h"
#include "kernel/shell.h"
#include "lib/cmdline.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"

extern "C" void (*__init_array_start[])(), (*__init_array_end[])();

namespace k {
namespace {

const void* g_dtb;
size_t g_dtb_size;
BootParams g_params{{}, "all", false};

void run_constructors() {
  for (auto fn = __init_array_start; fn < __init_array_end; ++fn) (*fn)();
}

void parse_boot_params(const fdt::Fdt& fdt) {
  g_params.cmdline = fdt::chosen_bootargs(fdt).value_or(std::string_view());
  g_params.selftest = cmdline_get(g_params.cmdline, "selftest").value_or("all");
  g_params.power_off_after_tests =
      parse_bool(cmdline_get(g_params.cmdline, "selftest.exit").value_or("0")).value_or(false);
  if (cmdline_has(g_params.cmdline, "debug")) set_console_loglevel(8);
  if (auto l = cmdline_get(g_params.cmdline, "loglevel"))
    if (auto v = parse_u64(*l)) set_console_loglevel(static_cast<int>(*v));
}

}  // namespace

const void* boot_dtb() { return g_dtb; }
size_t boot_dtb_size() { return g_dtb_size; }
const BootParams& boot_params() { return g_params; }

}  // namespace k

namespace {

struct BootContinuation {
  uint64_t hartid;
  k::fdt::Fdt fdt;
};
[[noreturn]] void kernel_main_guarded(void* arg);

}  // namespace

extern "C" [[noreturn]] void kernel_main(uint64_t hartid, uint64_t dtb_pa) {
  using namespace k;
  bench::g_boot_marks.entry = arch::read_instret();  // boot_mm_init benchmark
  arch::trap_init_this_hart();
  run_constructors();
  sbi_console_init();

  pr_notice("rvkernel version %s (%s) #1 SMP, C++20 on RISC-V 64\n", KERNEL_VERSION,
            "riscv64-linux-gnu-g++ " __VERSION__);

  const arch::EarlyBootInfo& early = arch::g_early_boot;
  g_dtb = arch::phys_to_virt(PhysAddr(dtb_pa));
  g_dtb_size = early.dtb_size;
  auto fdt = fdt::Fdt::parse(g_dtb, g_dtb_size);
  if (!fdt) panic("device tree became unreadable after early boot");
  parse_boot_params(*fdt);
  fault_inject_setup(g_params.cmdline);  // fail_page_alloc= ... (mm/fault_inject.h)
  if (auto model = fdt->root().prop("model"))
    pr_info("Machine model: %.*s\n", static_cast<int>(model->str().value_or("?").size()),
            model->str().value_or("?").data());
  pr_info("Kernel command line: %.*s\n", static_cast<int>(g_params.cmdline.size()),
          g_params.cmdline.data());
  pr_info("Boot hart: %llu, DTB at 0x%llx (%zu bytes)\n", static_cast<unsigned long long>(hartid),
          static_cast<unsigned long long>(dtb_pa), g_dtb_size);

  arch::report_sbi();
  arch::report_paging();
  arch::setup_timebase(*fdt, hartid);

  setup_memory(*fdt);
  board_early_quirks(*fdt);
  drivers_probe(*fdt, 0, 1);
  arch::smp_enumerate(*fdt, hartid);
  arch::percpu_init();
  arch::trap_init_this_hart();
  bench::g_boot_marks.page_alloc_start = arch::read_instret();  // boot_mm_init benchmark
  setup_page_allocator();
  bench::g_boot_marks.buddy_ready = arch::read_instret();  // boot_mm_init benchmark
  k::dma_init();  // DMA layer: bounce pool in ZONE_DMA/DMA32, cache ops, dma_debug=
                  // (mm/dma/dma_mapping.h)
  // Kernel virtual memory: vmalloc/ioremap and guarded kernel stacks
  // (before the other harts, whose stacks come from vmalloc).
  if (!vmalloc_init() || !kernel_stacks_init()) panic("vmalloc: initialisation failed");
  // Leave the .bss boot stack (no guard page below it) for a guarded one;
  // the rest of boot, kmain and the shell run there (kernel/stack.h).
  const KernelStack stack = alloc_kernel_stack(kKernelStackSize, cpu_to_node(0));
  if (!stack) panic("stack: no guarded stack for the boot hart");
  BootContinuation cont{hartid, *fdt};
  continue_on_stack(stack, kernel_main_guarded, &cont);
}

namespace {

// The second half of kernel_main, on the boot hart's guarded stack.
[[noreturn]] void kernel_main_guarded(void* arg) {
  using namespace k;
  // The continuation lives on the old boot stack, which stays (it is in
  // .bss, part of the kernel image); copy it anyway.
  const BootContinuation cont = *static_cast<const BootContinuation*>(arg);
  const uint64_t hartid = cont.hartid;
  const fdt::Fdt* fdt = &cont.fdt;
  // Boot-loader entropy for the slab freelist secrets (DT spec 3.6 /chosen).
  if (auto chosen = fdt->find("/chosen"))
    for (const char* seed : {"rng-seed", "kaslr-seed"})
      if (auto p = chosen->prop(seed)) slab_add_randomness(p->data().data(), p->size());
  kmem_cache_init(g_params.cmdline);
  kfence_init(g_params.cmdline);  // before the other harts: pool set up with local flushes
  initramfs::initramfs_init(fdt::chosen_initrd(*fdt));

  drivers_probe(*fdt, 2, 3);
  arch::timer_start_this_hart();
  arch::enable_ipis_this_hart();
  arch::irq_enable();
  pr_info("CPU0: hart %llu online (node %llu)\n", static_cast<unsigned long long>(hartid),
          static_cast<unsigned long long>(arch::cpu_block()->node));
  arch::smp_boot_secondaries();
  irq_smp_init();  // external interrupts on every hart now online
  // Processes: scheduler, ASIDs, syscall/page-fault handlers (issue 6).
  if (!proc_init()) pr_err("proc: scheduler unavailable; no user programs\n");
  free_init_sections();
  // Kernel text/rodata read-only in the linear map too, and the image's
  // page tables read-only (arch/pgtable.h).
  if (!arch::mark_rodata_ro()) pr_err("pgtable: kernel image only partly write-protected\n");

  if (auto what = cmdline_get(g_params.cmdline, "oops_test")) {
    if (*what == "stack_overflow") oops_test_stack_overflow(false);
    if (*what == "irq_stack_overflow") oops_test_stack_overflow(true);
    if (*what == "irq") oops_test_trigger_in_irq();
    oops_test_trigger();
  }

  const auto result = selftest::run(g_params.selftest);
  pr_info("selftest: %u suites, %u passed, %u failed, %u skipped\n", result.suites, result.passed,
          result.failed, result.skipped);
  if (auto b = cmdline_get(g_params.cmdline, "bench")) bench::run(*b);
  if (g_params.power_off_after_tests) {
    pr_info("selftest.exit=1: powering off (%s)\n", result.failed ? "FAIL" : "PASS");
    arch::power_off(result.failed != 0);
  }
  // PID 1 from the initramfs when `init=` is given; the shell afterwards.
  if (auto init = cmdline_get(g_params.cmdline, "init")) run_init(*init);
  shell::run();
}

}  // namespace
