// The soak (see kernel/soak.h): suite `soak`, one case that runs for
// `soak.seconds=` (skipped without it) in rounds of `soak.round=` seconds
// (default 30). Each round starts, and waits for:
//
//   * per online CPU, a kernel thread doing kmalloc / vmalloc /
//     alloc_pages churn: a ring of live blocks, each filled with a pattern
//     and checked before it is freed;
//   * per online CPU, a kernel thread doing virtio-blk I/O (when there is a
//     disk "vda"): writes a pattern to its own slice of the disk through a
//     DMA mapping, reads it back and compares;
//   * per online CPU, a /bin/churn process (fork/exec/exit, copy-on-write,
//     demand paging, mmap/munmap/mprotect/mremap and brk churn);
//   * one /bin/sysfuzz -q with one worker per CPU (random syscalls).
//
// Kernel code is not preempted (kernel/sched/sched.h), so the kernel
// threads yield after every operation; new tasks go to the least-loaded
// CPU, so every hart gets every kind of work. After the round, with all of
// it reaped, soak_check_invariant() compares every "nothing lost" counter
// with the snapshot taken before the first round. The case ends with one
// summary line that docs/reliability.md quotes and tests/qemu/soak_run.py
// checks:
//
//   # soak: seconds=600 rounds=20 kmalloc=... leaks=0 failures=0
#include "kernel/soak.h"

#include <arch/platform.h>

#include <atomic>

#include "arch/riscv/kernel/smp.h"
#include "drivers/block/blkdev.h"
#include "kernel/boot_info.h"
#include "kernel/proc/meminfo.h"
#include "kernel/printk.h"
#include "kernel/proc/process.h"
#include "kernel/sched/sched.h"
#include "kernel/selftest.h"
#include "lib/cmdline.h"
#include "lib/format.h"
#include "mm/accounting.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/vmalloc.h"

extern "C" const k::selftest::Counter __selftest_counters_start[], __selftest_counters_end[];

namespace k {

// --- the invariant ----------------------------------------------------------

namespace {
unsigned nr_counters() {
  return static_cast<unsigned>(__selftest_counters_end - __selftest_counters_start);
}

// The page accounting of every zone and category (mm/accounting.h) at the
// start; one soak runs at a time. Too large for a kernel stack.
MmAccountingSnapshot g_acct_base;

void print_acct_line(void*, const char* line) { printk_raw("    # soak: LEAK %s\n", line); }
}  // namespace

SoakSnapshot soak_snapshot() {
  SoakSnapshot s;
  mm_accounting_quiesce();  // cached slabs, lazy vmalloc ranges: not leaks
  const unsigned n = nr_counters();
  // Allocated before reading, so the snapshot's own buffer is counted the
  // same way in every later comparison.
  s.values = static_cast<uint64_t*>(kmalloc(sizeof(uint64_t) * (n ? n : 1), GFP_KERNEL));
  if (!s.values) return s;
  s.count = n;
  for (unsigned i = 0; i < n; ++i) s.values[i] = __selftest_counters_start[i].read();
  mm_accounting_snapshot(&g_acct_base);
  return s;
}

void soak_snapshot_free(SoakSnapshot& s) {
  kfree(s.values);
  s = SoakSnapshot{};
}

unsigned soak_check_invariant(const SoakSnapshot& base) {
  unsigned differ = 0;
  mm_accounting_quiesce();
  // Every zone's page columns (free, slab, page tables, vmalloc, user, ...)
  // back to the start; each difference is named by zone and category.
  if (!mm_accounting_verify(g_acct_base, print_acct_line, nullptr)) ++differ;
  for (unsigned i = 0; i < base.count; ++i) {
    const uint64_t now = __selftest_counters_start[i].read();
    if (now == base.values[i]) continue;
    ++differ;
    printk_raw("    # soak: LEAK %s: %llu at the start, %llu now\n",
               __selftest_counters_start[i].name, static_cast<unsigned long long>(base.values[i]),
               static_cast<unsigned long long>(now));
  }
  if (differ) show_tasks();  // a task left behind is the usual suspect
  return differ;
}

namespace {

// --- counters ---------------------------------------------------------------

struct Totals {
  std::atomic<uint64_t> kmalloc{0}, vmalloc{0}, pages{0};
  std::atomic<uint64_t> blk_writes{0}, blk_reads{0}, blk_bytes{0};
  std::atomic<uint64_t> corrupt{0}, alloc_failed{0}, io_errors{0};
};
Totals g_tot;

uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Rng {
  uint64_t s;
  uint64_t next() { return s = splitmix64(s); }
  uint64_t below(uint64_t n) { return next() % n; }
};

struct WorkerArg {
  uint64_t deadline_ns;
  uint64_t seed;
  BlockDevice* disk;
  uint64_t first_sector, nr_sectors;
};

// --- kernel thread: allocator churn -----------------------------------------

enum class Kind : uint8_t { kNone, kKmalloc, kVmalloc, kPages };

struct Block {
  Kind kind = Kind::kNone;
  void* ptr = nullptr;
  Page* page = nullptr;
  size_t size = 0;  // bytes (kmalloc, vmalloc) or order (pages)
  uint64_t tag = 0;
};

// Pattern words at the start, every page boundary and the end: cheap
// enough to do for every block, and it catches a block handed out twice or
// scribbled over while it was live.
void stamp(void* p, size_t bytes, uint64_t tag, bool check, bool* ok) {
  auto* c = static_cast<char*>(p);
  auto word = [&](size_t off) {
    auto* w = reinterpret_cast<uint64_t*>(c + off);
    if (!check)
      *w = tag ^ off;
    else if (*w != (tag ^ off))
      *ok = false;
  };
  if (bytes < 8) return;
  for (size_t off = 0; off + 8 <= bytes; off += kPageSize) word(off);
  word((bytes - 8) & ~size_t{7});
}

bool free_block(Block& b) {
  bool ok = true;
  switch (b.kind) {
    case Kind::kKmalloc:
      stamp(b.ptr, b.size, b.tag, true, &ok);
      kfree(b.ptr);
      break;
    case Kind::kVmalloc:
      stamp(b.ptr, b.size, b.tag, true, &ok);
      vfree(b.ptr);
      break;
    case Kind::kPages:
      stamp(page_address(b.page), kPageSize << b.size, b.tag, true, &ok);
      __free_pages(b.page, static_cast<unsigned>(b.size));
      break;
    case Kind::kNone:
      break;
  }
  b = Block{};
  return ok;
}

void fill_block(Block& b, Rng& r) {
  b.tag = r.next();
  switch (r.below(8)) {
    case 0:
    case 1: {
      b.size = (1 + r.below(32)) * kPageSize - r.below(64);
      b.ptr = vmalloc(b.size);
      b.kind = b.ptr ? Kind::kVmalloc : Kind::kNone;
      if (b.ptr) g_tot.vmalloc.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case 2: {
      b.size = r.below(4);
      b.page = alloc_pages(GFP_KERNEL, static_cast<unsigned>(b.size));
      b.kind = b.page ? Kind::kPages : Kind::kNone;
      if (b.page) g_tot.pages.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    default: {
      // Mostly small objects, sometimes a large (page-backed) kmalloc.
      b.size = r.below(8) ? 8 + r.below(2048) : 8 + r.below(64 * 1024);
      b.ptr = kmalloc(b.size, GFP_KERNEL);
      b.kind = b.ptr ? Kind::kKmalloc : Kind::kNone;
      if (b.ptr) g_tot.kmalloc.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  if (b.kind == Kind::kNone) {
    g_tot.alloc_failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool unused = true;
  void* at = b.kind == Kind::kPages ? page_address(b.page) : b.ptr;
  stamp(at, b.kind == Kind::kPages ? kPageSize << b.size : b.size, b.tag, false, &unused);
}

void mm_churn_thread(void* arg) {
  const auto* a = static_cast<const WorkerArg*>(arg);
  Rng r{a->seed};
  constexpr unsigned kRing = 64;
  Block ring[kRing];
  while (arch::uptime_ns() < a->deadline_ns) {
    Block& b = ring[r.below(kRing)];
    if (b.kind != Kind::kNone) {
      if (!free_block(b)) g_tot.corrupt.fetch_add(1);
    } else {
      fill_block(b, r);
    }
    sched_yield();
  }
  for (Block& b : ring)
    if (!free_block(b)) g_tot.corrupt.fetch_add(1);
}

// --- kernel thread: virtio-blk I/O ------------------------------------------

uint64_t disk_word(uint64_t seed, uint64_t sector, unsigned w) {
  return splitmix64(seed ^ (sector << 6) ^ w);
}

void blk_churn_thread(void* arg) {
  const auto* a = static_cast<const WorkerArg*>(arg);
  Rng r{a->seed};
  constexpr uint32_t kMaxCount = 32;  // sectors per request (16 KiB)
  auto* wbuf = static_cast<uint64_t*>(kmalloc(kMaxCount * kSectorSize, GFP_KERNEL));
  auto* rbuf = static_cast<uint64_t*>(kmalloc(kMaxCount * kSectorSize, GFP_KERNEL));
  if (!wbuf || !rbuf || a->nr_sectors < kMaxCount) {
    if (!wbuf || !rbuf) g_tot.alloc_failed.fetch_add(1);
    kfree(wbuf);
    kfree(rbuf);
    return;
  }
  constexpr unsigned kWords = kSectorSize / 8;
  while (arch::uptime_ns() < a->deadline_ns) {
    const uint32_t count = 1 + static_cast<uint32_t>(r.below(kMaxCount));
    const uint64_t sector = a->first_sector + r.below(a->nr_sectors - count + 1);
    const uint64_t seed = r.next();
    for (uint32_t s = 0; s < count; ++s)
      for (unsigned w = 0; w < kWords; ++w) wbuf[s * kWords + w] = disk_word(seed, sector + s, w);
    if (!blkdev_write(a->disk, sector, wbuf, count).ok()) {
      g_tot.io_errors.fetch_add(1);
      break;
    }
    g_tot.blk_writes.fetch_add(1, std::memory_order_relaxed);
    sched_yield();
    for (uint32_t i = 0; i < count * kWords; ++i) rbuf[i] = ~wbuf[i];
    if (!blkdev_read(a->disk, sector, rbuf, count).ok()) {
      g_tot.io_errors.fetch_add(1);
      break;
    }
    g_tot.blk_reads.fetch_add(1, std::memory_order_relaxed);
    g_tot.blk_bytes.fetch_add(2ull * count * kSectorSize, std::memory_order_relaxed);
    for (uint32_t i = 0; i < count * kWords; ++i) {
      if (rbuf[i] != wbuf[i]) {
        g_tot.corrupt.fetch_add(1);
        break;
      }
    }
    // A waiter on a hart that does not take the disk's interrupt polls the
    // used ring: four of them back to back starve QEMU's I/O thread on a
    // loaded host until a request passes the driver's 5 s timeout. A short
    // sleep between requests keeps the device busy without that.
    sleep_until_ns(arch::uptime_ns() + 2000000);
  }
  kfree(wbuf);
  kfree(rbuf);
}

// --- the controller ---------------------------------------------------------

uint64_t cmdline_u64(std::string_view key, uint64_t dflt) {
  auto v = cmdline_get(boot_params().cmdline, key);
  if (!v) return dflt;
  return parse_u64(*v).value_or(dflt);
}

struct RoundResult {
  unsigned user_started = 0, user_failed = 0, kthreads = 0, spawn_failed = 0;
};

// Starts one round's work, all of it a child of the calling task, and
// reaps it.
// Which kinds of work run: `soak.work=` bits, 1 allocator threads, 2 block
// I/O threads, 4 churn processes, 8 sysfuzz (default all: to bisect a
// failure).
uint64_t g_work = 15;
// Block I/O threads per round (`soak.blk=`, default one per CPU).
uint64_t g_blk_threads = ~0ull;

RoundResult run_round(uint64_t round_ns, uint64_t seed, WorkerArg* args, BlockDevice* disk) {
  RoundResult res;
  const unsigned cpus = arch::nr_online_cpus();
  const uint64_t deadline = arch::uptime_ns() + round_ns;
  for (unsigned i = 0; i < cpus; ++i) {
    WorkerArg& m = args[2 * i];
    m = WorkerArg{deadline, splitmix64(seed ^ (2 * i)), nullptr, 0, 0};
    if (!(g_work & 1)) {
    } else if (kthread_spawn(mm_churn_thread, &m, "soak-mm").ok()) {
      ++res.kthreads;
    } else {
      ++res.spawn_failed;
    }
    if (!disk || !(g_work & 2) || i >= g_blk_threads) continue;
    WorkerArg& b = args[2 * i + 1];
    const uint64_t slice = disk->nr_sectors / cpus;
    b = WorkerArg{deadline, splitmix64(seed ^ (2 * i + 1)), disk, slice * i, slice};
    if (kthread_spawn(blk_churn_thread, &b, "soak-blk").ok())
      ++res.kthreads;
    else
      ++res.spawn_failed;
  }
  // User work: as long as the round, less a margin for the last episode
  // or operation to finish.
  const uint64_t user_s = round_ns / 1000000000ull > 3 ? round_ns / 1000000000ull - 2 : 1;
  char secs[24], sd[24], workers[12];
  snformat(secs, sizeof secs, "%llu", static_cast<unsigned long long>(user_s));
  snformat(workers, sizeof workers, "%u", cpus);
  const char* const env[] = {"PATH=/bin", nullptr};
  Task* self = current();
  const char* saved = self->out_prefix;
  self->out_prefix = "    # ";
  for (unsigned i = 0; i <= cpus; ++i) {
    snformat(sd, sizeof sd, "%#llx", static_cast<unsigned long long>(splitmix64(seed + 100 + i)));
    const bool fuzz = i == cpus;
    if (!(g_work & (fuzz ? 8 : 4))) continue;
    const char* churn_argv[] = {"/bin/churn", "-t", secs, "-s", sd, nullptr};
    const char* fuzz_argv[] = {"/bin/sysfuzz", "-q", "-t", secs, "-w", workers, "-s", sd, nullptr};
    auto pid = spawn_user(fuzz ? "/bin/sysfuzz" : "/bin/churn", fuzz ? fuzz_argv : churn_argv, env);
    if (pid.ok())
      ++res.user_started;
    else
      ++res.spawn_failed;
  }
  self->out_prefix = saved;
  // Reap everything: kernel threads exit 0, user programs 0 on success.
  for (;;) {
    int status = 0;
    auto w = do_wait4(-1, &status, 0);
    if (!w.ok()) break;  // ECHILD: all done
    if (status != 0) {
      ++res.user_failed;
      printk_raw("    # soak: pid %d ended with wait status 0x%x\n", w.value(), status);
    }
  }
  reap_orphans();
  return res;
}

}  // namespace
}  // namespace k

SELFTEST(soak, run) {
  using namespace k;
  const uint64_t seconds = cmdline_u64("soak.seconds", 0);
  if (!seconds) {
    t.skip("no soak.seconds= (make soak)");
    return;
  }
  if (!sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  const uint64_t round_s = cmdline_u64("soak.round", 30);
  g_work = cmdline_u64("soak.work", 15);
  g_blk_threads = cmdline_u64("soak.blk", ~0ull);
  const uint64_t seed = cmdline_u64("soak.seed", arch::uptime_ns());
  BlockDevice* disk = blkdev_lookup("vda");
  const unsigned cpus = arch::nr_online_cpus();
  t.diag("soak: %llu s on %u CPUs in rounds of %llu s, seed %#llx, disk %s (%llu MiB)",
         static_cast<unsigned long long>(seconds), cpus, static_cast<unsigned long long>(round_s),
         static_cast<unsigned long long>(seed), disk ? disk->name : "none",
         static_cast<unsigned long long>(disk ? disk->nr_sectors / 2048 : 0));

  auto* args = static_cast<WorkerArg*>(kmalloc(sizeof(WorkerArg) * 2 * cpus, GFP_KERNEL));
  KASSERT(args != nullptr);
  SoakSnapshot base = soak_snapshot();
  KASSERT(base.values != nullptr);
  const uint64_t free_start = free_pages_quiesced();

  const uint64_t start = arch::uptime_ns();
  const uint64_t end = start + seconds * 1000000000ull;
  unsigned rounds = 0, leaks = 0, user_runs = 0, user_failed = 0, spawn_failed = 0;
  while (arch::uptime_ns() < end) {
    const uint64_t left = end - arch::uptime_ns();
    const uint64_t round_ns = left < round_s * 1000000000ull ? left : round_s * 1000000000ull;
    if (round_ns < 2000000000ull && rounds) break;  // no useful round fits
    const RoundResult r = run_round(round_ns, splitmix64(seed + rounds), args, disk);
    ++rounds;
    user_runs += r.user_started;
    user_failed += r.user_failed;
    spawn_failed += r.spawn_failed;
    const unsigned differ = soak_check_invariant(base);
    leaks += differ;
    t.diag(
        "soak round %u at %llu s: kmalloc %llu vmalloc %llu pages %llu blk %llu MiB, "
        "%u processes (%u failed), %u kernel threads; invariant %s",
        rounds, static_cast<unsigned long long>((arch::uptime_ns() - start) / 1000000000ull),
        static_cast<unsigned long long>(g_tot.kmalloc.load()),
        static_cast<unsigned long long>(g_tot.vmalloc.load()),
        static_cast<unsigned long long>(g_tot.pages.load()),
        static_cast<unsigned long long>(g_tot.blk_bytes.load() >> 20), r.user_started,
        r.user_failed, r.kthreads, differ ? "BROKEN" : "holds");
  }
  const uint64_t free_end = free_pages_quiesced();
  const uint64_t elapsed = (arch::uptime_ns() - start) / 1000000000ull;
  soak_snapshot_free(base);
  kfree(args);

  const unsigned failures = user_failed + spawn_failed +
                            static_cast<unsigned>(g_tot.corrupt.load() + g_tot.io_errors.load());
  t.diag(
      "soak: seconds=%llu rounds=%u cpus=%u kmalloc=%llu vmalloc=%llu pages=%llu "
      "blk_writes=%llu blk_reads=%llu blk_mib=%llu processes=%u failed=%u corrupt=%llu "
      "io_errors=%llu alloc_failed=%llu free_pages_start=%llu free_pages_end=%llu leaks=%u "
      "failures=%u",
      static_cast<unsigned long long>(elapsed), rounds, cpus,
      static_cast<unsigned long long>(g_tot.kmalloc.load()),
      static_cast<unsigned long long>(g_tot.vmalloc.load()),
      static_cast<unsigned long long>(g_tot.pages.load()),
      static_cast<unsigned long long>(g_tot.blk_writes.load()),
      static_cast<unsigned long long>(g_tot.blk_reads.load()),
      static_cast<unsigned long long>(g_tot.blk_bytes.load() >> 20), user_runs, user_failed,
      static_cast<unsigned long long>(g_tot.corrupt.load()),
      static_cast<unsigned long long>(g_tot.io_errors.load()),
      static_cast<unsigned long long>(g_tot.alloc_failed.load()),
      static_cast<unsigned long long>(free_start), static_cast<unsigned long long>(free_end), leaks,
      failures);
  KEXPECT(rounds > 0);
  KEXPECT_EQ(leaks, 0u);
  KEXPECT_EQ(free_end, free_start);
  KEXPECT_EQ(failures, 0u);
  KEXPECT(g_tot.kmalloc.load() > 0 && g_tot.vmalloc.load() > 0 && g_tot.pages.load() > 0);
  KEXPECT(user_runs > 0);
  if (disk) KEXPECT(g_tot.blk_reads.load() > 0);
}
