// Allocation-failure sweep (suite `fail_sweep`, issue 9): each
// representative kernel operation runs with the task's fail-nth = 1, 2,
// 3, ... until a run passes every fault point without reaching the N-th.
// Every run must succeed or return a clean error, and after every run the
// page accounting (mm/accounting.h) must be exactly as before it: a failure
// path that leaks names its category and zone.
//
// Suite `faultinject` checks the attribute semantics (probability,
// interval, times, space, __GFP_NOFAIL) on the live allocators.
#include <arch/pgtable.h>

#include "drivers/base/device.h"
#include "fs/initramfs_boot.h"
#include "kernel/proc/process.h"
#include "kernel/proc/runner.h"
#include "kernel/sched/sched.h"
#include "kernel/selftest.h"
#include "kernel/shell.h"
#include "lib/fdt.h"
#include "lib/fdt_boot.h"
#include "kernel/boot_info.h"
#include "mm/accounting.h"
#include "mm/dma/dma_mapping.h"
#include "mm/dma/swiotlb.h"
#include "mm/fault.h"
#include "mm/fault_inject.h"
#include "mm/ioremap.h"
#include "mm/kmalloc.h"
#include "mm/mempool.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/percpu_alloc.h"
#include "mm/slab.h"
#include "mm/vmalloc.h"

namespace {

using namespace k;

// Outcome of one run of an operation under injection.
enum class Run { kOk, kCleanError, kBroken };

// Static: too large for a kernel stack.
MmAccountingSnapshot g_before;

void diag_line(void* ctx, const char* line) {
  static_cast<selftest::Context*>(ctx)->diag("  %s", line);
}

// Quiets the per-injection reports during a sweep (hundreds of them).
struct QuietAttrs {
  FaultAttr* attrs[4] = {&fail_page_alloc, &failslab, &fail_vmalloc, &fail_swiotlb};
  uint32_t saved[4];
  QuietAttrs() {
    for (int i = 0; i < 4; ++i) saved[i] = attrs[i]->verbose.exchange(0);
  }
  ~QuietAttrs() {
    for (int i = 0; i < 4; ++i) attrs[i]->verbose.store(saved[i]);
  }
};

// The sweep. `op` runs the operation once, undoes whatever it built, and
// says how it went. Returns the number of runs; on a failure it has failed
// the test (with diagnostics) and returns 0.
template <typename Op>
unsigned sweep(selftest::Context& t, const char* what, Op op) {
  constexpr unsigned kMaxRuns = 4000;  // no operation here has that many fault points
  QuietAttrs quiet;
  unsigned injected_ok = 0, injected_err = 0;
  for (unsigned n = 1; n <= kMaxRuns; ++n) {
    // What allocators cache on purpose is not a leak: drop it on both sides.
    mm_accounting_quiesce();
    mm_accounting_snapshot(&g_before);
    if (!fail_nth_set(n)) {
      t.fail(__FILE__, __LINE__, "fail_nth_set outside task context");
      return 0;
    }
    const Run r = op();
    const uint32_t left = fail_nth_get();
    fail_nth_set(0);
    if (r == Run::kBroken) {
      t.diag("%s: run with fail-nth=%u broke (wrong result or inconsistent state)", what, n);
      t.fail(__FILE__, __LINE__, what);
      return 0;
    }
    mm_accounting_quiesce();
    if (!mm_accounting_verify(g_before, diag_line, &t)) {
      t.diag("%s: pages lost or gained by the run with fail-nth=%u (%s)", what, n,
             r == Run::kOk ? "it succeeded" : "it failed cleanly");
      t.fail(__FILE__, __LINE__, what);
      return 0;
    }
    if (left) {
      // The operation finished before its n-th fault point: the sweep is
      // complete, and without an injected failure it must have worked.
      if (r != Run::kOk) {
        t.diag("%s: failed with no failure injected (fail-nth=%u, %u left)", what, n, left);
        t.fail(__FILE__, __LINE__, what);
        return 0;
      }
      t.diag("%s: %u fault points; injected failures -> %u clean errors, %u recovered", what, n - 1,
             injected_err, injected_ok);
      return n;
    }
    if (r == Run::kOk)
      ++injected_ok;
    else
      ++injected_err;
  }
  t.diag("%s: still reaching new fault points after %u runs", what, kMaxRuns);
  t.fail(__FILE__, __LINE__, what);
  return 0;
}

bool sched_or_skip(selftest::Context& t) {
  if (sched_ready()) return true;
  t.skip("no scheduler (fail-nth is per task)");
  return false;
}

bool fill_check(void* p, size_t n) {
  auto* b = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; i += 512) b[i] = static_cast<uint8_t>(i / 512 + 1);
  for (size_t i = 0; i < n; i += 512)
    if (b[i] != static_cast<uint8_t>(i / 512 + 1)) return false;
  return true;
}

}  // namespace

SELFTEST(fail_sweep, kmalloc_small_and_large) {
  if (!sched_or_skip(t)) return;
  sweep(t, "kmalloc", [] {
    void* a = kmalloc(200, GFP_KERNEL);
    void* b = kzalloc(3 * 4096 + 1, GFP_KERNEL);  // above the largest class: pages
    void* c = kmalloc_array(16, 48, GFP_KERNEL);
    const bool ok = a && b && c;
    if (b && static_cast<uint8_t*>(b)[3 * 4096] != 0) return Run::kBroken;
    kfree(a);
    kfree(b);
    kfree(c);
    return ok ? Run::kOk : Run::kCleanError;
  });
}

SELFTEST(fail_sweep, kmem_cache_lifecycle) {
  if (!sched_or_skip(t)) return;
  sweep(t, "kmem_cache", [] {
    KmemCache* s = kmem_cache_create("fail_sweep", 376, 8, 0, nullptr);
    if (!s) return Run::kCleanError;
    constexpr int kN = 40;  // more than one slab
    void* objs[kN];
    int got = 0;
    for (; got < kN; ++got)
      if (!(objs[got] = kmem_cache_alloc(s, GFP_KERNEL))) break;
    for (int i = 0; i < got; ++i) kmem_cache_free(s, objs[i]);
    if (!kmem_cache_destroy(s)) return Run::kBroken;
    return got == kN ? Run::kOk : Run::kCleanError;
  });
}

SELFTEST(fail_sweep, vmalloc_and_vmap) {
  if (!sched_or_skip(t)) return;
  sweep(t, "vmalloc", [] {
    void* v = vzalloc(6 * kPageSize);
    if (!v) return Run::kCleanError;
    const bool ok = fill_check(v, 6 * kPageSize);
    vfree(v);
    return ok ? Run::kOk : Run::kBroken;
  });
  sweep(t, "vmap", [] {
    Page* pages[3] = {};
    Run r = Run::kOk;
    for (Page*& p : pages)
      if (!(p = alloc_page(GFP_KERNEL))) r = Run::kCleanError;
    if (r == Run::kOk) {
      void* v = vmap(pages, 3, VM_MAP, 0);
      if (!v)
        r = Run::kCleanError;
      else if (!fill_check(v, 3 * kPageSize))
        r = Run::kBroken;
      if (v) vunmap(v);
    }
    for (Page* p : pages)
      if (p) __free_page(p);
    return r;
  });
}

SELFTEST(fail_sweep, ioremap) {
  if (!sched_or_skip(t)) return;
  // The stdout UART's registers (any device page will do).
  PhysAddr pa(0x100000);
  if (auto fdt = fdt::Fdt::parse(boot_dtb(), boot_dtb_size()))
    if (auto n = fdt::stdout_node(*fdt))
      if (auto rg = fdt->reg_translated(*n, 0)) pa = PhysAddr(rg->addr & ~(kPageSize - 1));
  sweep(t, "ioremap", [pa] {
    void* v = ioremap(pa, 2 * kPageSize);
    if (!v) return Run::kCleanError;
    iounmap(v);
    return Run::kOk;
  });
}

SELFTEST(fail_sweep, map_kernel_range_builds_page_tables) {
  if (!sched_or_skip(t)) return;
  sweep(t, "map_kernel_range", [] {
    // A 4 MiB area, mapped across its middle 2 MiB boundary with 4 KiB
    // leaves: at least one new leaf table.
    VmapArea* a = get_vm_area(4ull << 20, 2ull << 20, VM_MAP, nullptr);
    if (!a) return Run::kCleanError;
    Page* p = alloc_pages(GFP_KERNEL, 1);
    Run r = Run::kCleanError;
    if (p) {
      const VirtAddr va(a->addr + (2ull << 20) - kPageSize);
      if (arch::map_kernel_range(va, page_to_phys(p), 2 * kPageSize, arch::PAGE_KERNEL,
                                 arch::kLeaf4K)
              .ok())
        r = fill_check(reinterpret_cast<void*>(va.value()), 2 * kPageSize) ? Run::kOk
                                                                           : Run::kBroken;
      // A partial map leaves nothing behind after the unmap either.
      arch::unmap_kernel_range(va, 2 * kPageSize);
      __free_pages(p, 1);
    }
    free_vm_area(a);
    return r;
  });
}

SELFTEST(fail_sweep, alloc_percpu) {
  if (!sched_or_skip(t)) return;
  // Carved from the per-CPU areas' reserve: no fault point on the way, so
  // the first run must pass (a sweep of one).
  const unsigned runs = sweep(t, "alloc_percpu", [] {
    void* p = alloc_percpu(96, 16);
    if (!p) return Run::kCleanError;
    free_percpu(p);
    return Run::kOk;
  });
  KEXPECT_EQ(runs, 1u);
}

SELFTEST(fail_sweep, mempool) {
  if (!sched_or_skip(t)) return;
  sweep(t, "mempool", [] {
    MempoolT* pool = mempool_create_kmalloc_pool(4, 256);
    if (!pool) return Run::kCleanError;
    // The pool's reserve serves these even when kmalloc fails.
    void* e[4];
    Run r = Run::kOk;
    for (void*& x : e)
      if (!(x = mempool_alloc(pool, GFP_KERNEL))) r = Run::kBroken;
    for (void* x : e)
      if (x) mempool_free(x, pool);
    mempool_destroy(pool);
    return r;
  });
}

SELFTEST(fail_sweep, dma_coherent_and_bounced_streaming) {
  if (!sched_or_skip(t)) return;
  if (!dma_init()) return t.skip("no DMA layer");
  Device dev;
  device_init_fake(dev, "fail-sweep", true);
  sweep(t, "dma_alloc_coherent", [&dev] {
    DmaAddr h;
    void* c = dma_alloc_coherent(&dev, 3 * kPageSize, &h, GFP_KERNEL);
    if (!c) return Run::kCleanError;
    const bool ok = fill_check(c, 3 * kPageSize);
    dma_free_coherent(&dev, 3 * kPageSize, c, h);
    return ok ? Run::kOk : Run::kBroken;
  });
  if (!swiotlb_ready()) return t.skip("no bounce pool");
  Device bounce;
  device_init_fake(bounce, "fail-sweep-bounce", true);
  bounce.force_bounce = true;
  sweep(t, "dma_map_single (bounced)", [&bounce] {
    void* buf = kmalloc(1500, GFP_KERNEL);
    if (!buf) return Run::kCleanError;
    DmaAddr a = dma_map_single(&bounce, buf, 1500, DMA_BIDIRECTIONAL);
    Run r = Run::kCleanError;
    if (!dma_mapping_error(&bounce, a)) {
      dma_unmap_single(&bounce, a, 1500, DMA_BIDIRECTIONAL);
      r = Run::kOk;
    }
    kfree(buf);
    return r;
  });
}

SELFTEST(fail_sweep, user_address_space_mmap_touch_fork) {
  if (!sched_or_skip(t)) return;
  constexpr vm_flags_t kRW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
  constexpr uint64_t base = 0x40000000;
  sweep(t, "mm: mmap + touch + fork(dup_mm) + COW", [] {
    MmStruct* mm = mm_alloc();
    if (!mm) return Run::kCleanError;
    Run r = Run::kOk;
    if (!mm_map(mm, base, base + 8 * kPageSize, VmaProto{kRW, {}, 0}).ok() ||
        !mm_populate(mm, base, base + 8 * kPageSize, true).ok()) {
      r = Run::kCleanError;
    } else if (MmStruct* child = dup_mm(mm)) {
      // Copy-on-write in the child: a new page, the parent's stays.
      if (handle_mm_fault(child, base, FaultAccess::kWrite) != FaultResult::kOk)
        r = Run::kCleanError;
      mmput(child);
    } else {
      r = Run::kCleanError;
    }
    mmput(mm);
    return r;
  });
}

SELFTEST(fail_sweep, exec_user_program) {
  if (!sched_or_skip(t)) return;
  const char* path = "/bin/hello";
  if (!initramfs::rootfs().lookup(path).ok()) return t.skip("no /bin/hello in the initramfs");
  sweep(t, "spawn + exec /bin/hello", [path] {
    const char* argv[] = {path, nullptr};
    // The program's KTAP lines become diagnostics of this case. Its own
    // faults are not the caller's fail-nth: it runs to completion (the
    // user-side sweep covers a process's allocations).
    auto status = run_program(path, argv, "    # ");
    if (!status.ok()) return status.error() == Errno::kENOMEM ? Run::kCleanError : Run::kBroken;
    return status.value() == 0 ? Run::kOk : Run::kBroken;
  });
}

// --- attribute semantics -------------------------------------------------

namespace {
struct AttrGuard {
  FaultAttr& a;
  explicit AttrGuard(FaultAttr& attr) : a(attr) {}
  ~AttrGuard() { fault_attr_reset(a); }
};
}  // namespace

SELFTEST(faultinject, times_bounds_the_failures_and_nofail_is_never_failed) {
  AttrGuard g(fail_page_alloc);
  QuietAttrs quiet;
  KASSERT(fault_attr_parse(fail_page_alloc, "1,100,0,2"));
  const uint64_t injected = fail_page_alloc.injected.load();
  Page* nofail = alloc_page(GFP_KERNEL | __GFP_NOFAIL);
  KEXPECT(nofail != nullptr);
  KEXPECT_EQ(fail_page_alloc.injected.load(), injected);
  KEXPECT(alloc_page(GFP_KERNEL | __GFP_NOWARN) == nullptr);
  KEXPECT(alloc_page(GFP_KERNEL | __GFP_NOWARN) == nullptr);
  Page* third = alloc_page(GFP_KERNEL | __GFP_NOWARN);  // times used up
  KEXPECT(third != nullptr);
  KEXPECT_EQ(fail_page_alloc.injected.load(), injected + 2);
  if (third) __free_page(third);
  if (nofail) __free_page(nofail);
}

SELFTEST(faultinject, interval_and_space) {
  AttrGuard g(failslab);
  QuietAttrs quiet;
  KmemCache* s = kmem_cache_create("fi_interval", 64, 8, 0, nullptr);
  KASSERT(s);
  // Every 3rd call fails, without limit.
  KASSERT(fault_attr_parse(failslab, "3,100,0,-1"));
  unsigned failed = 0;
  void* objs[30];
  for (void*& o : objs) failed += !(o = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN));
  KEXPECT_EQ(failed, 10u);
  for (void* o : objs)
    if (o) kmem_cache_free(s, o);
  // 640 bytes of space: the first 10 calls of 64 bytes... Linux lets a call
  // through while space > size, so 9 pass and the 10th fails.
  KASSERT(fault_attr_parse(failslab, "1,100,640,1"));
  failed = 0;
  unsigned first_fail = 0;
  for (unsigned i = 0; i < 12; ++i) {
    void* o = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN);
    if (!o && !first_fail) first_fail = i + 1;
    failed += !o;
    if (o) kmem_cache_free(s, o);
  }
  KEXPECT_EQ(failed, 1u);
  KEXPECT_EQ(first_fail, 10u);
  fault_attr_reset(failslab);
  KEXPECT(kmem_cache_destroy(s));
}

SELFTEST(faultinject, probability_fails_about_that_share) {
  AttrGuard g(fail_vmalloc);
  QuietAttrs quiet;
  fault_inject_seed(12345);
  KASSERT(fault_attr_parse(fail_vmalloc, "1,25,0,-1"));
  unsigned failed = 0;
  for (int i = 0; i < 200; ++i) {
    void* v = vmalloc_node(kPageSize, -1);
    failed += !v;
    vfree(v);
  }
  t.diag("25%% probability: %u of 200 vmalloc calls failed", failed);
  KEXPECT(failed >= 25 && failed <= 75);
}

SELFTEST(faultinject, fail_nth_counts_calls_and_disarms) {
  if (!sched_or_skip(t)) return;
  QuietAttrs quiet;
  KmemCache* s = kmem_cache_create("fi_nth", 32, 8, 0, nullptr);
  KASSERT(s);
  // Warm the cache so the calls below need no new slab (no page-allocator
  // fault point in between).
  void* warm[4];
  for (void*& w : warm) w = kmem_cache_alloc(s, GFP_KERNEL);
  for (void* w : warm) kmem_cache_free(s, w);
  KASSERT(fail_nth_set(3));
  KEXPECT_EQ(fail_nth_get(), 3u);
  void* a = kmem_cache_alloc(s, GFP_KERNEL);  // point 1
  void* b = kmem_cache_alloc(s, GFP_KERNEL);  // point 2
  KEXPECT_EQ(fail_nth_get(), 1u);
  void* c = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOWARN);  // point 3: fails
  KEXPECT(a && b && !c);
  KEXPECT_EQ(fail_nth_get(), 0u);
  void* d = kmem_cache_alloc(s, GFP_KERNEL);  // disarmed
  KEXPECT(d != nullptr);
  for (void* o : {a, b, d})
    if (o) kmem_cache_free(s, o);
  KEXPECT(kmem_cache_destroy(s));
  // __GFP_NOFAIL calls do not consume the count.
  KASSERT(fail_nth_set(1));
  Page* p = alloc_page(GFP_KERNEL | __GFP_NOFAIL);
  KEXPECT(p != nullptr);
  KEXPECT_EQ(fail_nth_get(), 1u);
  fail_nth_set(0);
  if (p) __free_page(p);
}

SELFTEST(faultinject, shell_commands_show_set_and_reject) {
  char show[] = "faultinject";
  KEXPECT_EQ(shell::execute(show), 0);
  char set[] = "faultinject failslab 5,0,0,9";
  KEXPECT_EQ(shell::execute(set), 0);
  KEXPECT_EQ(failslab.interval.load(), 5u);
  KEXPECT_EQ(failslab.times.load(), 9);
  char off[] = "faultinject failslab off";
  KEXPECT_EQ(shell::execute(off), 0);
  KEXPECT_EQ(failslab.interval.load(), 1u);
  char bad_name[] = "faultinject nosuch 1,1,0,1";
  KEXPECT_EQ(shell::execute(bad_name), 1);
  char bad_attr[] = "faultinject failslab 1,101,0,1";
  KEXPECT_EQ(shell::execute(bad_attr), 1);
  KEXPECT_EQ(failslab.probability.load(), 0u);
  char table[] = "memacct";
  KEXPECT_EQ(shell::execute(table), 0);
}
