// Self-tests of KFENCE (suite `kfence`): every kind of bug is provoked on a
// forced sample, must be reported exactly once, and the kernel must carry
// on with the pool's counts back where they were.
#include "mm/kfence.h"

#include <arch/cpu.h>
#include <arch/memory.h>

#include <cstring>

#include "arch/riscv/kernel/trap.h"
#include "kernel/selftest.h"
#include "kernel/shell.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"

SELFTEST_COUNTER(kfence_objects, [] { return k::kfence_stats().allocated; });

namespace k {
namespace {

bool have_pool() { return kfence_stats().num_objects != 0; }

// No automatic samples while a test runs: the pool's counts then change
// only by what the test does, whatever kfence.sample_interval= says.
class SamplingOff {
 public:
  SamplingOff() : interval_(kfence_stats().sample_interval) { kfence_set_sample_interval(0); }
  ~SamplingOff() { kfence_set_sample_interval(interval_); }
  SamplingOff(const SamplingOff&) = delete;
  SamplingOff& operator=(const SamplingOff&) = delete;

 private:
  uint64_t interval_;
};

uintptr_t addr_of(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// The next kmalloc is forced to be a sample; interrupts stay off so that
// no interrupt handler's allocation takes it.
void* sampled_kmalloc(size_t size, KfenceSide side, gfp_t gfp = GFP_ATOMIC) {
  const unsigned long irq = arch::irq_save();
  kfence_force_next_sample(side);
  void* p = kmalloc(size, gfp);
  arch::irq_restore(irq);
  return p;
}

void* sampled_cache_alloc(KmemCache* s) {
  const unsigned long irq = arch::irq_save();
  kfence_force_next_sample(KfenceSide::kRandom);
  void* p = kmem_cache_alloc(s, GFP_ATOMIC);
  arch::irq_restore(irq);
  return p;
}

// Deliberate bad accesses: the bytes read are out of bounds or freed.
uint8_t read_byte(const void* p) {
  // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.UndefReturn): the point of the test
  return *static_cast<const volatile uint8_t*>(p);
}
void write_byte(void* p, uint8_t v) { *static_cast<volatile uint8_t*>(p) = v; }

}  // namespace
}  // namespace k

using namespace k;

SELFTEST(kfence, sampled_objects_sit_at_a_page_edge_and_come_back) {
  if (!have_pool()) return t.skip("no KFENCE pool (kfence.num_objects=0)");
  const SamplingOff off;
  const KfenceStats before = kfence_stats();
  const uint64_t reports = kfence_nr_reports();

  auto* l = static_cast<uint8_t*>(sampled_kmalloc(32, KfenceSide::kLeft));
  KASSERT(l && is_kfence_address(l));
  KEXPECT_EQ(addr_of(l) % kPageSize, 0u);
  KEXPECT_EQ(ksize(l), 32u);
  // Linear-map memory like any kmalloc object (DMA, virt_to_phys).
  KEXPECT(arch::is_linear_addr(l));
  std::memset(l, 0x11, 32);

  auto* r = static_cast<uint8_t*>(sampled_kmalloc(64, KfenceSide::kRight));
  KASSERT(r && is_kfence_address(r));
  KEXPECT_EQ((addr_of(r) + 64) % kPageSize, 0u);
  KEXPECT_EQ(ksize(r), 64u);
  std::memset(r, 0x22, 64);

  // A size below the class: still aligned as its class (kmalloc-64).
  auto* a = static_cast<uint8_t*>(sampled_kmalloc(50, KfenceSide::kRight));
  KASSERT(a && is_kfence_address(a));
  KEXPECT_EQ(addr_of(a) % 64, 0u);
  KEXPECT_EQ(ksize(a), 50u);

  const KfenceStats mid = kfence_stats();
  KEXPECT_EQ(mid.allocated, before.allocated + 3);
  KEXPECT_EQ(mid.free_slots, before.free_slots - 3);
  kfree(l);
  kfree(r);
  kfree(a);
  const KfenceStats after = kfence_stats();
  KEXPECT_EQ(after.allocated, before.allocated);
  KEXPECT_EQ(after.free_slots, before.free_slots);
  KEXPECT_EQ(after.total_frees, before.total_frees + 3);
  KEXPECT_EQ(kfence_nr_reports(), reports);
}

SELFTEST(kfence, out_of_bounds_read_left_is_reported_once) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t total = kfence_nr_reports();
  const uint64_t oob = kfence_nr_reports(KfenceBug::kOutOfBounds);
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(32, KfenceSide::kLeft));
  KASSERT(p && is_kfence_address(p));
  (void)read_byte(p - 1);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kOutOfBounds), oob + 1);
  kfree(p);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
}

SELFTEST(kfence, out_of_bounds_read_right_is_reported_once) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t total = kfence_nr_reports();
  const uint64_t oob = kfence_nr_reports(KfenceBug::kOutOfBounds);
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(64, KfenceSide::kRight));
  KASSERT(p && is_kfence_address(p));
  (void)read_byte(p + 64);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kOutOfBounds), oob + 1);
  kfree(p);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
}

SELFTEST(kfence, out_of_bounds_write_is_reported_once) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t total = kfence_nr_reports();
  const uint64_t oob = kfence_nr_reports(KfenceBug::kOutOfBounds);
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(128, KfenceSide::kRight));
  KASSERT(p && is_kfence_address(p));
  write_byte(p + 128 + 7, 0x5a);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kOutOfBounds), oob + 1);
  // The kernel went on: the object is still usable and frees cleanly.
  std::memset(p, 0, 128);
  kfree(p);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
}

SELFTEST(kfence, use_after_free_read_is_reported_once) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t total = kfence_nr_reports();
  const uint64_t uaf = kfence_nr_reports(KfenceBug::kUseAfterFree);
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(48, KfenceSide::kRandom));
  KASSERT(p && is_kfence_address(p));
  kfree(p);
  (void)read_byte(p + 3);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kUseAfterFree), uaf + 1);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
}

SELFTEST(kfence, use_after_free_write_is_reported_once) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t total = kfence_nr_reports();
  const uint64_t uaf = kfence_nr_reports(KfenceBug::kUseAfterFree);
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(48, KfenceSide::kRandom));
  KASSERT(p && is_kfence_address(p));
  kfree(p);
  write_byte(p, 1);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kUseAfterFree), uaf + 1);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
}

SELFTEST(kfence, double_free_is_reported_and_refused) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const KfenceStats before = kfence_stats();
  const uint64_t total = kfence_nr_reports();
  void* p = sampled_kmalloc(16, KfenceSide::kRandom);
  KASSERT(p && is_kfence_address(p));
  kfree(p);
  kfree(p);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kDoubleFree),
             before.bugs[static_cast<unsigned>(KfenceBug::kDoubleFree)] + 1);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
  const KfenceStats after = kfence_stats();
  KEXPECT_EQ(after.total_frees, before.total_frees + 1);
  KEXPECT_EQ(after.free_slots, before.free_slots);
}

SELFTEST(kfence, invalid_free_is_reported_and_refused) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const KfenceStats before = kfence_stats();
  const uint64_t total = kfence_nr_reports();
  const uint64_t inv = kfence_nr_reports(KfenceBug::kInvalidFree);
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(64, KfenceSide::kRandom));
  KASSERT(p && is_kfence_address(p));
  kfree(p + 8);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kInvalidFree), inv + 1);
  KEXPECT_EQ(kfence_stats().allocated, before.allocated + 1);  // refused: still live
  kfree(p);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
  KEXPECT_EQ(kfence_stats().free_slots, before.free_slots);
}

SELFTEST(kfence, canary_corruption_is_reported_at_free) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t total = kfence_nr_reports();
  const uint64_t bad = kfence_nr_reports(KfenceBug::kCorruption);
  // Left-placed: the slack (and the canary) is on the right.
  auto* l = static_cast<uint8_t*>(sampled_kmalloc(32, KfenceSide::kLeft));
  KASSERT(l && is_kfence_address(l));
  write_byte(l + 32, 0x42);
  kfree(l);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kCorruption), bad + 1);
  // Right-placed: the canary is on the left.
  auto* r = static_cast<uint8_t*>(sampled_kmalloc(32, KfenceSide::kRight));
  KASSERT(r && is_kfence_address(r));
  write_byte(r - 2, 0x42);
  kfree(r);
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kCorruption), bad + 2);
  KEXPECT_EQ(kfence_nr_reports(), total + 2);
}

namespace {
int g_ctor_calls = 0;
void count_ctor(void* p) {
  ++g_ctor_calls;
  std::memset(p, 0x77, 24);
}
}  // namespace

SELFTEST(kfence, cache_objects_keep_their_cache) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  KmemCache* c = kmem_cache_create("kfence_test", 24, 0, 0, count_ctor);
  KmemCache* other = kmem_cache_create("kfence_other", 24, 0, 0, nullptr);
  KASSERT(c && other);
  const uint64_t total = kfence_nr_reports();
  const int ctors = g_ctor_calls;
  auto* p = static_cast<uint8_t*>(sampled_cache_alloc(c));
  KASSERT(p && is_kfence_address(p));
  KEXPECT_EQ(g_ctor_calls, ctors + 1);
  KEXPECT_EQ(p[23], 0x77);
  KEXPECT_EQ(kfence_cache_objects(c), 1u);
  KEXPECT(!kmem_cache_destroy(c));  // refused: a live (KFENCE) object
  kmem_cache_free(other, p);        // the wrong cache: reported, refused
  KEXPECT_EQ(kfence_nr_reports(KfenceBug::kInvalidFree) > 0, true);
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
  KEXPECT_EQ(kfence_cache_objects(c), 1u);
  kmem_cache_free(c, p);
  KEXPECT_EQ(kfence_cache_objects(c), 0u);
  KEXPECT(kmem_cache_destroy(c));
  KEXPECT(kmem_cache_destroy(other));
  KEXPECT_EQ(kfence_nr_reports(), total + 1);
}

SELFTEST(kfence, full_pool_falls_back_to_the_slab) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const KfenceStats before = kfence_stats();
  const uint64_t n = before.num_objects + 1;
  auto** objs = static_cast<void**>(kcalloc(n, sizeof(void*), GFP_KERNEL));
  KASSERT(objs);
  uint64_t taken = 0;
  void* fallback = nullptr;
  for (uint64_t i = 0; i < n; ++i) {
    void* p = sampled_kmalloc(8, KfenceSide::kRandom);
    KASSERT(p);
    if (!is_kfence_address(p)) {
      fallback = p;
      break;
    }
    objs[taken++] = p;
  }
  KEXPECT(fallback != nullptr);
  KEXPECT_EQ(kfence_stats().free_slots, 0u);
  KEXPECT_EQ(kfence_stats().skipped_full, before.skipped_full + 1);
  t.diag("pool full after %llu samples", static_cast<unsigned long long>(taken));
  kfree(fallback);
  for (uint64_t i = 0; i < taken; ++i) kfree(objs[i]);
  kfree(objs);
  KEXPECT_EQ(kfence_stats().free_slots, before.free_slots);
  KEXPECT_EQ(kfence_stats().allocated, before.allocated);
}

SELFTEST(kfence, every_nth_allocation_is_sampled) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  KmemCache* c = kmem_cache_create("kfence_nth", 40, 0, 0, nullptr);
  KASSERT(c);
  const uint64_t old = kfence_stats().sample_interval;
  void* objs[24];
  bool from_cache[24];
  unsigned sampled = 0;
  const unsigned long irq = arch::irq_save();
  kfence_set_sample_interval(4);
  // kmalloc and kmem_cache_alloc share the countdown; each counts once.
  for (unsigned i = 0; i < 24; ++i) {
    from_cache[i] = i % 2;
    objs[i] = from_cache[i] ? kmem_cache_alloc(c, GFP_ATOMIC) : kmalloc(24, GFP_ATOMIC);
  }
  kfence_set_sample_interval(old);
  arch::irq_restore(irq);
  for (unsigned i = 0; i < 24; ++i) {
    KEXPECT(objs[i] != nullptr);
    if (is_kfence_address(objs[i])) {
      ++sampled;
      KEXPECT_EQ(i % 4, 3u);  // the 4th, 8th, ...
    }
    if (from_cache[i])
      kmem_cache_free(c, objs[i]);
    else
      kfree(objs[i]);
  }
  KEXPECT_EQ(sampled, 6u);
  KEXPECT(kmem_cache_destroy(c));
}

SELFTEST(kfence, krealloc_and_gfp_flags) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const KfenceStats before = kfence_stats();
  const uint64_t reports = kfence_nr_reports();
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(32, KfenceSide::kLeft));
  KASSERT(p && is_kfence_address(p));
  std::memset(p, 0x3c, 32);
  KEXPECT(krealloc(p, 16, GFP_KERNEL) == p);  // fits: stays
  auto* q = static_cast<uint8_t*>(krealloc(p, 100, GFP_KERNEL));
  KASSERT(q);
  KEXPECT(q != p);
  KEXPECT_EQ(q[31], 0x3c);
  KEXPECT_EQ(kfence_stats().total_frees, before.total_frees + 1);
  kfree(q);

  auto* z =
      static_cast<uint8_t*>(sampled_kmalloc(200, KfenceSide::kRight, GFP_ATOMIC | __GFP_ZERO));
  KASSERT(z && is_kfence_address(z));
  bool zero = true;
  // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): __GFP_ZERO zeroed it
  for (unsigned i = 0; i < 200; ++i) zero = zero && z[i] == 0;
  KEXPECT(zero);
  kfree(z);

  // DMA-zone requests never come from the pool (it is ZONE_NORMAL memory).
  void* d = sampled_kmalloc(64, KfenceSide::kRandom, GFP_ATOMIC | __GFP_DMA32);
  KASSERT(d);
  KEXPECT(!is_kfence_address(d));
  kfree(d);
  KEXPECT_EQ(kfence_stats().skipped_unsuited, before.skipped_unsuited + 1);
  KEXPECT_EQ(kfence_stats().allocated, before.allocated);
  KEXPECT_EQ(kfence_nr_reports(), reports);
}

SELFTEST(kfence, shell_command_prints_the_stats) {
  char line[] = "kfence";
  KEXPECT_EQ(shell::execute(line), 0);
}

SELFTEST(kfence, guard_and_free_pages_are_absent) {
  if (!have_pool()) return t.skip("no KFENCE pool");
  const SamplingOff off;
  const uint64_t reports = kfence_nr_reports();
  auto* p = static_cast<uint8_t*>(sampled_kmalloc(64, KfenceSide::kLeft));
  KASSERT(p && is_kfence_address(p));
  // probe_* go through the exception fixups, which run before KFENCE's
  // handler: a fault here is silent, and proves the page is absent.
  KEXPECT(!arch::probe_read(p));
  KEXPECT(!arch::probe_write(p + kPageSize - 1));
  KEXPECT(arch::probe_read(p - 1));          // left guard
  KEXPECT(arch::probe_read(p + kPageSize));  // right guard
  kfree(p);
  KEXPECT(arch::probe_read(p));  // freed: absent again
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(g_kfence_pool_start)));
  KEXPECT_EQ(kfence_nr_reports(), reports);
}
