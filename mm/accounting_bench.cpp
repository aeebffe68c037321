// What fault injection and the page accounting cost (make bench):
// an order-0 alloc/free pair with the hooks unarmed (one relaxed load per
// hook) and armed-but-idle (the out-of-line check runs, nothing fails),
// and one snapshot / one full check (page walk) of every zone.
#include "kernel/bench.h"
#include "mm/accounting.h"
#include "mm/fault_inject.h"
#include "mm/page_alloc.h"

namespace {

using namespace k;

k::MmAccountingSnapshot g_snap;  // static: too large for a stack

}  // namespace

BENCH(mm_accounting) {
  const uint32_t armed = g_fault_inject_armed.load();
  g_fault_inject_armed.store(0);
  b.measure("alloc_free_page_fault_inject_unarmed", b.iters(10000),
            [] { __free_page(alloc_page(GFP_KERNEL)); });
  // Armed (as after any fail-nth write) with every probability 0 and no
  // task counter pending.
  g_fault_inject_armed.store(armed | 2);
  b.measure("alloc_free_page_fault_inject_armed_idle", b.iters(10000),
            [] { __free_page(alloc_page(GFP_KERNEL)); });
  g_fault_inject_armed.store(armed);
  b.measure("mm_accounting_snapshot", b.iters(20), [] { mm_accounting_snapshot(&g_snap); });
  bool consistent = true;
  b.measure("mm_accounting_check_page_walk", b.iters(5),
            [&consistent] { consistent = mm_accounting_check() && consistent; });
  if (!consistent) b.fail("mm_accounting_check found an inconsistency (reported above)");
}
