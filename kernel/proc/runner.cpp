// Starting user programs: PID 1 from `init=`, the `run` and `ps` shell
// commands, and the KTAP suite `user` that runs each test program from
// tests/user (one result per program: exit status 0 = ok; the program's
// own KTAP lines appear as "# " diagnostics of its case).
#include "kernel/proc/runner.h"

#include <arch/cpu.h>

#include "fs/initramfs_boot.h"
#include "kernel/boot_info.h"
#include "lib/cmdline.h"
#include "kernel/printk.h"
#include "kernel/proc/process.h"
#include "kernel/sched/sched.h"
#include "kernel/selftest.h"
#include "kernel/shell.h"
#include "mm/accounting.h"
#include "mm/page_alloc.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "mm/vmalloc.h"

namespace k {
namespace {

const char* const kEnv[] = {"PATH=/bin", "HOME=/", "TERM=vt100", nullptr};

// Pages the user suite must give back: free pages plus what slab caches
// keep in reserve, after the per-CPU lists are drained.
uint64_t free_page_snapshot() { return nr_free_pages_quiesced(); }

uint64_t g_user_suite_free_before;

}  // namespace

Result<int> run_program(const char* path, const char* const* argv, const char* prefix) {
  Task* self = current();
  const char* saved = self->out_prefix;
  self->out_prefix = prefix;
  auto pid = spawn_user(path, argv, kEnv);
  self->out_prefix = saved;
  if (!pid.ok()) return pid.error();
  int status = 0;
  auto w = do_wait4(pid.value(), &status, 0);
  reap_orphans();
  if (!w.ok()) return w.error();
  return status;
}

void run_init(std::string_view init_path) {
  char path[initramfs::kPathMax];
  const size_t n = init_path.size() < sizeof path - 1 ? init_path.size() : sizeof path - 1;
  for (size_t i = 0; i < n; ++i) path[i] = init_path[i];
  path[n] = 0;
  const char* argv[] = {path, nullptr};
  pr_info("init: starting %s\n", path);
  auto r = run_program(path, argv, nullptr);
  if (!r.ok())
    pr_err("init: cannot run %s: %s\n", path, errno_name(r.error()));
  else
    pr_info("init: %s exited with status 0x%x\n", path, r.value());
}

}  // namespace k

SHELL_COMMAND(ps, "list tasks: pid, parent, CPU, state, memory (kB), name") {
  k::show_tasks();
  return 0;
}

SHELL_COMMAND(run, "run a program from the initramfs: run <path> [args...]") {
  if (argc < 2) {
    k::printk_raw("usage: run <path> [args...]\n");
    return 1;
  }
  const char* argv_k[16] = {};
  int n = 0;
  for (int i = 1; i < argc && n < 15; ++i) argv_k[n++] = argv[i];
  auto r = k::run_program(argv[1], argv_k, nullptr);
  if (!r.ok()) {
    k::printk_raw("run: %s: %s\n", argv[1], k::errno_name(r.error()));
    return 1;
  }
  const int st = r.value();
  if ((st & 0x7f) == 0)
    k::printk_raw("run: %s exited with status %d\n", argv[1], (st >> 8) & 0xff);
  else
    k::printk_raw("run: %s killed by signal %d\n", argv[1], st & 0x7f);
  return 0;
}

SHELL_COMMAND(status, "show /proc/<pid>/status: status <pid>") {
  int pid = 0;
  if (argc > 1)
    for (const char* p = argv[1]; *p >= '0' && *p <= '9'; ++p) pid = pid * 10 + (*p - '0');
  size_t len = 0;
  char* text = k::proc_status_text(pid, &len);
  if (!text) {
    k::printk_raw("status: no task %d\n", pid);
    return 1;
  }
  k::printk_raw("%s", text);
  k::kfree(text);
  return 0;
}

// --- suite `user`: the test programs --------------------------------------

namespace {

// Runs /bin/<prog>; skipped when the initramfs does not have it.
void run_user_test(k::selftest::Context& t, const char* prog) {
  char path[64] = "/bin/";
  size_t i = 5;
  for (const char* p = prog; *p && i < sizeof path - 1; ++p) path[i++] = *p;
  path[i] = 0;
  if (!k::sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  // `user.only=a,b` runs only the listed programs (debugging one test).
  if (auto only = k::cmdline_get(k::boot_params().cmdline, "user.only")) {
    bool listed = false;
    std::string_view rest = *only;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (rest.substr(0, comma) == std::string_view(prog)) listed = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (!listed) {
      t.skip("not in user.only=");
      return;
    }
  }
  // The OOM test exhausts RAM page by page; on a big machine under QEMU
  // that takes minutes, so it runs where RAM is at most 1 GiB (the
  // qemu_virt_user scenario).
  if (std::string_view(prog) == "oom" && k::totalram_pages() > (1ull << 30) / k::kPageSize) {
    t.skip("more than 1 GiB of RAM (runs in qemu_virt_user)");
    return;
  }
  if (!k::initramfs::rootfs().lookup(path).ok()) {
    t.skip("not in the initramfs");
    return;
  }
  const char* argv[] = {path, nullptr};
  // The program's own KTAP block becomes diagnostic lines of this case:
  // the case's result is the program's exit status (0 = ok), and the
  // kernel's totals keep counting one result per program.
  auto r = k::run_program(path, argv, "    # ");
  KASSERT(r.ok());
  if (r.value() != 0) t.diag("%s: wait status 0x%x", path, r.value());
  KEXPECT_EQ(r.value(), 0);
}

}  // namespace

// The runner walks .selftests in reverse definition order; the names
// also sort into running order, so the snapshot comes first and the
// check last either way.
SELFTEST(user, zz_free_pages_restored) {
  const uint64_t after = k::free_page_snapshot();
  t.diag("free pages before %llu after %llu",
         static_cast<unsigned long long>(k::g_user_suite_free_before),
         static_cast<unsigned long long>(after));
  KEXPECT_EQ(after, k::g_user_suite_free_before);
}
// The allocation-failure sweep (tests/user/fail_sweep.c), with every
// accounting column checked afterwards: a failure path that leaks is named
// by category and zone (mm/accounting.h).
SELFTEST(user, fail_sweep) {
  // Hundreds of fork/exec runs: it takes the qemu_virt_user scenario's
  // time budget (boot with user.fail_sweep), or runs when user.only= names
  // it; other scenarios keep theirs for the rest.
  const std::string_view cmdline = k::boot_params().cmdline;
  if (!k::cmdline_has(cmdline, "user.fail_sweep") && !k::cmdline_has(cmdline, "user.only")) {
    t.skip("runs in qemu_virt_user (boot with user.fail_sweep)");
    return;
  }
  static k::MmAccountingSnapshot before;  // too large for a kernel stack
  k::mm_accounting_quiesce();
  k::mm_accounting_snapshot(&before);
  run_user_test(t, "fail_sweep");
  k::mm_accounting_quiesce();
  KEXPECT(k::mm_accounting_verify(
      before,
      [](void* ctx, const char* line) {
        static_cast<k::selftest::Context*>(ctx)->diag("%s", line);
      },
      &t));
}
SELFTEST(user, sysfuzz) { run_user_test(t, "sysfuzz"); }
SELFTEST(user, fork_many) { run_user_test(t, "fork_many"); }
SELFTEST(user, oom) { run_user_test(t, "oom"); }
SELFTEST(user, efault) { run_user_test(t, "efault"); }
SELFTEST(user, stack_growth) { run_user_test(t, "stack_growth"); }
SELFTEST(user, exec) { run_user_test(t, "exec"); }
SELFTEST(user, fork_cow) { run_user_test(t, "fork_cow"); }
SELFTEST(user, faults) { run_user_test(t, "faults"); }
SELFTEST(user, mprotect_merge) { run_user_test(t, "mprotect_merge"); }
SELFTEST(user, munmap_split) { run_user_test(t, "munmap_split"); }
SELFTEST(user, map_fixed_noreplace) { run_user_test(t, "map_fixed_noreplace"); }
SELFTEST(user, brk) { run_user_test(t, "brk"); }
SELFTEST(user, mmap_sparse) { run_user_test(t, "mmap_sparse"); }
SELFTEST(user, static_pie) { run_user_test(t, "static_pie"); }
SELFTEST(user, hello) { run_user_test(t, "hello"); }
SELFTEST(user, aa_snapshot_free_pages) {
  k::g_user_suite_free_before = k::free_page_snapshot();
  KEXPECT(k::g_user_suite_free_before > 0);
}
