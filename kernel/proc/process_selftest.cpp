// On-target tests of tasks and processes (suite `process`): kernel
// threads on every CPU with the least-loaded placement, wait4 reaping,
// exec failures with Linux errnos, and nothing left behind.
#include <atomic>

#include <arch/cpu.h>
#include <arch/platform.h>

#include "arch/riscv/kernel/smp.h"
#include "fs/initramfs_boot.h"
#include "kernel/proc/file.h"
#include "kernel/proc/process.h"
#include "kernel/sched/sched.h"
#include "kernel/selftest.h"
#include "mm/mm_struct.h"

namespace {

using namespace k;

constexpr unsigned kThreads = 8;
std::atomic<uint64_t> g_cpus_seen;
std::atomic<unsigned> g_ran;

// Stays runnable (yielding) until every thread has started, so the
// threads overlap and placement has to spread them.
void spin_and_record(void*) {
  g_cpus_seen.fetch_or(uint64_t{1} << (arch::this_cpu() & 63));
  g_ran.fetch_add(1);
  const uint64_t deadline = arch::uptime_ns() + 2000000000ull;
  while (g_ran.load() < kThreads && arch::uptime_ns() < deadline) k::sched_yield();
}

}  // namespace

SELFTEST_COUNTER(tasks, k::nr_tasks);
SELFTEST_COUNTER(open_files, k::open_file_count);

SELFTEST(process, kernel_threads_spread_over_cpus_and_are_reaped) {
  if (!sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  g_cpus_seen = 0;
  g_ran = 0;
  constexpr int kN = kThreads;
  int pids[kN];
  for (int i = 0; i < kN; ++i) {
    auto r = kthread_spawn(spin_and_record, nullptr, "selftest");
    KASSERT(r.ok());
    pids[i] = r.value();
  }
  for (int i = 0; i < kN; ++i) {
    int status = -1;
    auto w = do_wait4(pids[i], &status, 0);
    KEXPECT(w.ok() && w.value() == pids[i]);
    KEXPECT_EQ(status, 0);
  }
  KEXPECT_EQ(g_ran.load(), static_cast<unsigned>(kN));
  t.diag("kernel threads ran on CPU mask %#llx",
         static_cast<unsigned long long>(g_cpus_seen.load()));
  if (arch::nr_online_cpus() > 1) KEXPECT(__builtin_popcountll(g_cpus_seen.load()) > 1);
  int status;
  KEXPECT(do_wait4(-1, &status, 0).error() == Errno::kECHILD);
}

SELFTEST(process, exec_errors_are_linux_errnos) {
  if (!sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  const uint64_t mms = mm_live_count();
  const char* argv[] = {"x", nullptr};
  const char* envp[] = {nullptr};
  KEXPECT(spawn_user("/no/such/program", argv, envp).error() == Errno::kENOENT);
  if (initramfs::rootfs().lookup("/bin").ok())
    KEXPECT(spawn_user("/bin", argv, envp).error() == Errno::kEACCES);
  if (initramfs::rootfs().lookup("/bin/truncated_elf").ok())
    KEXPECT(spawn_user("/bin/truncated_elf", argv, envp).error() == Errno::kENOEXEC);
  KEXPECT_EQ(mm_live_count(), mms);
}

SELFTEST(process, nanosleep_waits_and_wakes) {
  if (!sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  const uint64_t t0 = arch::uptime_ns();
  KEXPECT(sleep_until_ns(t0 + 30000000ull));
  KEXPECT(arch::uptime_ns() - t0 >= 30000000ull);
}
