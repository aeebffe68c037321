// On-target self-tests of the dynamic per-CPU allocator (suite
// `percpu_alloc`): every hart reaches its own copy through this_cpu_ptr.
#include <arch/cpu.h>
#include <arch/percpu.h>

#include "arch/riscv/kernel/smp.h"
#include "kernel/selftest.h"
#include "mm/percpu_alloc.h"

namespace k {
namespace {

uint64_t counter_percpu_bytes() { return percpu_dynamic_used(); }
SELFTEST_COUNTER(percpu_dynamic_bytes, counter_percpu_bytes);

void bump(void* p) {
  auto* v = static_cast<uint64_t*>(p);
  for (int i = 0; i < 1000; ++i) ++*this_cpu_ptr(v);
  *this_cpu_ptr(v + 1) = arch::this_cpu() + 1;
}

}  // namespace

SELFTEST(percpu_alloc, each_hart_updates_its_own_copy) {
  if (!percpu_dynamic_ready()) {
    t.skip("percpu_init has no dynamic region (percpu_dynamic_init not called)");
    return;
  }
  auto* v = static_cast<uint64_t*>(alloc_percpu(2 * sizeof(uint64_t), 16));
  KASSERT(v != nullptr);
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) KEXPECT_EQ(*per_cpu_ptr(v, c), 0u);
  const unsigned ran = arch::smp_call_all_concurrently(bump, v);
  unsigned seen = 0;
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) {
    if (!arch::cpu_online(c)) continue;
    KEXPECT_EQ(*per_cpu_ptr(v, c), 1000u);
    KEXPECT_EQ(per_cpu_ptr(v, c)[1], c + 1);
    ++seen;
  }
  KEXPECT_EQ(seen, ran);
  free_percpu(v);
}

SELFTEST(percpu_alloc, exhaustion_is_reported_and_recovers) {
  if (!percpu_dynamic_ready()) {
    t.skip("percpu_init has no dynamic region (percpu_dynamic_init not called)");
    return;
  }
  static void* ptrs[80];
  unsigned n = 0;
  while (n < 80 && (ptrs[n] = alloc_percpu(4096, 64)) != nullptr) ++n;
  KEXPECT(n < 80);
  KEXPECT(n >= 1);
  for (unsigned i = 0; i < n; ++i) free_percpu(ptrs[i]);
  void* p = alloc_percpu(4096, 64);
  KEXPECT(p != nullptr);
  free_percpu(p);
}

}  // namespace k
