// Process and page-fault benchmarks (issue 8, items 1 and 2):
//
//   proc_faults   anonymous first-touch fault split into trap entry,
//                 handler, 4 KiB clear and return; file-backed read
//                 (with fault-around) and write faults; copy-on-write
//                 fault; fork+exit+wait; mmap+munmap of one page
//   vma_scaling   anonymous fault cost with 1 .. 10 000 VMAs mapped
//
// The work has to happen in a real user process for the trap path to be
// in the figures, so each case runs /bin/bench_proc (tests/user) from the
// initramfs. The program reads instret itself: for the run, U-mode gets
// the counter (scounteren.IR on every hart, arch/user_counters.h) and the
// fault path stamps the faults inside a window of the program's address
// space (mm/fault_bench.h). The program prints its results in the bench
// format; this case checks its exit status and that every page came back.
#include <arch/cpu.h>
#include <arch/user_counters.h>
#include <arch/user_pgtable.h>

#include "arch/riscv/kernel/smp.h"
#include "fs/initramfs_boot.h"
#include "kernel/bench.h"
#include "kernel/proc/runner.h"
#include "kernel/sched/sched.h"
#include "lib/errno.h"
#include "lib/format.h"
#include "mm/accounting.h"
#include "mm/fault_bench.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"

namespace {

constexpr const char* kProgram = "/bin/bench_proc";
// The stamped window: 16 GiB at 64 GiB, inside every paging mode's user
// half (Sv39: 256 GiB) and far from where the program's own mappings go
// (ELF at its link address, mmap top-down from below the stack).
constexpr uint64_t kWindowBase = uint64_t{64} << 30;
constexpr uint64_t kWindowLen = uint64_t{16} << 30;

void set_counter_access(void* value) {
  arch::swap_user_counter_access(*static_cast<const uint64_t*>(value));
}

// Free pages once per-CPU lists and cached empty slabs are given back.
uint64_t free_pages_settled() { return k::nr_free_pages_quiesced(); }

void run_bench_program(k::bench::Context& b, const char* mode) {
  if (!k::sched_ready()) return b.skip("no scheduler: no user processes");
  if (!k::initramfs::rootfs().lookup(kProgram).ok())
    return b.skip("/bin/bench_proc not in the initramfs (make host builds it)");
  if (kWindowBase + kWindowLen > arch::user_task_size())
    return b.fail("%s: the stamp window does not fit the user address space", mode);

  char shift[8], base[24], len[24];
  k::snformat(shift, sizeof shift, "%u", k::bench::Context::shift());
  k::snformat(base, sizeof base, "0x%llx", static_cast<unsigned long long>(kWindowBase));
  k::snformat(len, sizeof len, "0x%llx", static_cast<unsigned long long>(kWindowLen));
  const char* argv[] = {kProgram, mode, b.tiny() ? "tiny" : "normal", shift, base, len, nullptr};

  const uint64_t free_before = free_pages_settled();
  const uint64_t old = arch::swap_user_counter_access(0);
  uint64_t with_ir = old | arch::kScounterenIr;
  set_counter_access(&with_ir);
  arch::smp_call_others(set_counter_access, &with_ir);
  k::fault_bench::set_window(kWindowBase, kWindowLen);

  auto status = k::run_program(kProgram, argv, nullptr);

  k::fault_bench::set_window(0, 0);
  uint64_t restore = old;
  arch::smp_call_others(set_counter_access, &restore);
  set_counter_access(&restore);
  const uint64_t free_after = free_pages_settled();

  if (!status.ok()) return b.fail("%s %s: %s", kProgram, mode, k::errno_name(status.error()));
  if (status.value() != 0) return b.fail("%s %s: wait status 0x%x", kProgram, mode, status.value());
  if (free_after != free_before)
    return b.fail("%s %s: free pages %llu before, %llu after", kProgram, mode,
                  static_cast<unsigned long long>(free_before),
                  static_cast<unsigned long long>(free_after));
  b.note_program_results(1);
}

}  // namespace

BENCH(proc_faults) { run_bench_program(b, "faults"); }

BENCH(vma_scaling) { run_bench_program(b, "vmas"); }
