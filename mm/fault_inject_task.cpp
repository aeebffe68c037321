// The task side of fault injection: each task's fail-nth counter
// (Task::fail_nth, Linux task_struct::fail_nth). Kernel-only; the host
// tests have their own (tests/host/fake_fault_inject.cpp).
#include <arch/percpu.h>

#include "kernel/sched/sched.h"
#include "kernel/sched/task.h"
#include "mm/fault_inject.h"

namespace k {

std::atomic<uint32_t>* fault_inject_task_nth() {
  // Linux counts only in_task() calls: an interrupt handler's allocation
  // must not consume (or be failed by) the interrupted task's counter.
  if (!sched_ready() || arch::cpu_block()->irq_depth) return nullptr;
  Task* t = current();
  return t ? &t->fail_nth : nullptr;
}

}  // namespace k
