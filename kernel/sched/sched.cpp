// Per-CPU run queues and the context switch (see kernel/sched/sched.h).
#include "kernel/sched/sched.h"

#include <atomic>
#include <cstring>
#include <new>

#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/percpu.h>
#include <arch/platform.h>
#include <arch/user_pgtable.h>

#include "arch/riscv/kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/proc/process.h"
#include "mm/kmalloc.h"
#include "mm/mm_struct.h"

namespace k {
namespace {

void set_comm(Task* t, const char* name) {
  unsigned i = 0;
  for (; name[i] && i < kTaskCommLen - 1; ++i) t->comm[i] = name[i];
  t->comm[i] = 0;
}
// Ticks a task runs before a runnable peer gets the CPU (10 ms ticks).
constexpr int kTimeSliceTicks = 3;

struct RunQueue {
  SpinLock lock;  // rank: innermost of the scheduler (taken with IRQs off)
  ListHead queue;
  Task* idle = nullptr;
  std::atomic<unsigned> nr_running{0};
  std::atomic<bool> need_resched{false};
  std::atomic<bool> busy{false};  // running something other than idle
};

// One run queue per CPU, in its per-CPU area (node-local). The copies are
// made from the template by memcpy, so sched_init() re-points each list.
DEFINE_PER_CPU(RunQueue, g_rq);
DEFINE_PER_CPU(Task*, g_current);
DEFINE_PER_CPU(Task*, g_prev);
std::atomic<bool> g_ready{false};
std::atomic<uint64_t> g_switches{0};

// Timed sleepers (nanosleep), checked on CPU 0's tick.
SpinLock g_sleep_lock;
ListHead g_sleepers;

RunQueue& rq_of(unsigned cpu) { return per_cpu(g_rq, cpu); }
RunQueue& this_rq() { return rq_of(arch::this_cpu()); }

Task* task_of_run(ListNode* n) { return container_of(n, &Task::run_node); }
Task* task_of_wait(ListNode* n) { return container_of(n, &Task::wait_node); }
Task* task_of_sleep(ListNode* n) { return container_of(n, &Task::sleep_node); }

void enqueue_locked(RunQueue& rq, Task* t) {
  if (t->on_rq || t->is_idle) return;
  t->on_rq = true;
  rq.queue.push_back(&t->run_node);
  rq.nr_running.fetch_add(1, std::memory_order_relaxed);
}

Task* pick_locked(RunQueue& rq) {
  ListNode* n = rq.queue.pop_front();
  if (!n) return rq.idle;
  Task* t = task_of_run(n);
  t->on_rq = false;
  rq.nr_running.fetch_sub(1, std::memory_order_relaxed);
  return t;
}

void context_switch(Task* prev, Task* next) {
  // A task that just went to sleep on another CPU may still be on its
  // way out there.
  while (next->on_cpu.load(std::memory_order_acquire)) arch::cpu_relax();
  next->on_cpu.store(true, std::memory_order_relaxed);
  next->cpu = arch::this_cpu();
  next->time_slice = kTimeSliceTicks;
  arch::CpuBlock* cb = arch::cpu_block();
  prev->irq_depth = cb->irq_depth;
  cb->irq_depth = next->irq_depth;
  cb->kernel_sp = next->kstack.top;
  cb->stack_base = next->kstack.base;
  cb->stack_top = next->kstack.top;
  if (prev->mm) arch::fpu_save(&prev->fpu);
  if (next->mm != prev->mm) arch::switch_mm(next->mm ? &next->mm->pgd : nullptr);
  if (next->mm) arch::fpu_restore(&next->fpu);
  this_cpu_write(g_current, next);
  this_cpu_write(g_prev, prev);
  this_rq().busy.store(!next->is_idle, std::memory_order_relaxed);
  g_switches.fetch_add(1, std::memory_order_relaxed);
  __switch_to(&prev->ctx, &next->ctx);
  sched_tail();
}

void idle_loop() {
  for (;;) {
    arch::irq_disable();
    if (this_rq().nr_running.load(std::memory_order_relaxed) == 0) {
      // wfi with interrupts masked still wakes on a pending interrupt
      // (Privileged spec 3.3.3), which is then taken after irq_enable().
      arch::wait_for_interrupt();
      arch::irq_enable();
      continue;
    }
    arch::irq_enable();
    schedule();
  }
}

void* idle_thread_fn(void*) {
  arch::irq_enable();
  idle_loop();
  return nullptr;
}

// The running context becomes a task (its stack is whatever it runs on).
Task* adopt_current(const char* name, bool idle) {
  void* p = kzalloc(sizeof(Task), GFP_KERNEL);
  if (!p) return nullptr;
  Task* t = new (p) Task();
  arch::CpuBlock* cb = arch::cpu_block();
  t->kstack.base = cb->stack_base;
  t->kstack.top = cb->stack_top;
  t->cpu = arch::this_cpu();
  t->is_idle = idle;
  t->on_cpu.store(true);
  set_comm(t, name);
  return t;
}

}  // namespace

Task* current() { return this_cpu_read(g_current); }
bool sched_ready() { return g_ready.load(std::memory_order_acquire); }
unsigned rq_nr_running(unsigned cpu) { return rq_of(cpu).nr_running.load(); }
uint64_t nr_context_switches() { return g_switches.load(); }

Task* task_alloc(const char* name) {
  void* p = kzalloc(sizeof(Task), GFP_KERNEL);
  if (!p) return nullptr;
  Task* t = new (p) Task();
  t->kstack = alloc_kernel_stack();
  if (!t->kstack) {
    t->~Task();
    kfree(p);
    return nullptr;
  }
  set_comm(t, name);
  t->start_ns = arch::uptime_ns();
  return t;
}

void task_free(Task* t) {
  while (t->on_cpu.load(std::memory_order_acquire)) arch::cpu_relax();
  if (t->kstack) free_kernel_stack(t->kstack);
  t->~Task();
  kfree(t);
}

bool sched_init() {
  const unsigned cpu = arch::this_cpu();
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) rq_of(c).queue.init();
  Task* kmain = adopt_current("kmain", false);
  Task* idle = task_alloc("idle/0");
  if (!kmain || !idle) {
    pr_err("sched: no memory for the boot tasks\n");
    return false;
  }
  idle->is_idle = true;
  idle->cpu = cpu;
  arch::prepare_new_context(&idle->ctx, idle->kstack.top, idle_thread_fn, nullptr);
  rq_of(cpu).idle = idle;
  this_cpu_write(g_current, kmain);
  g_ready.store(true, std::memory_order_release);
  // Let the other harts adopt their idle tasks now (they notice at their
  // next tick), so that what they allocate for it is not mistaken for
  // what the first processes use.
  const uint64_t deadline = arch::uptime_ns() + 200000000ull;
  for (unsigned c = 0; c < arch::nr_cpus(); ++c)
    while (c != cpu && arch::cpu_online(c) && !__atomic_load_n(&rq_of(c).idle, __ATOMIC_ACQUIRE) &&
           arch::uptime_ns() < deadline)
      arch::cpu_relax();
  pr_info("sched: run queues ready (%u CPUs, %d-tick slices)\n", arch::nr_online_cpus(),
          kTimeSliceTicks);
  return true;
}

[[noreturn]] void sched_idle_entry() {
  while (!sched_ready()) arch::wait_for_interrupt();
  char name[16] = "idle/";
  const unsigned cpu = arch::this_cpu();
  name[5] = static_cast<char>('0' + cpu / 10 % 10);
  name[6] = static_cast<char>('0' + cpu % 10);
  Task* idle = adopt_current(cpu < 10 ? "idle" : name, true);
  if (!idle) {
    pr_err("sched: CPU%u has no idle task; it stays out of scheduling\n", cpu);
    for (;;) arch::wait_for_interrupt();
  }
  this_cpu_write(g_current, idle);
  __atomic_store_n(&rq_of(cpu).idle, idle, __ATOMIC_RELEASE);
  idle_loop();
  __builtin_unreachable();
}

void schedule() {
  // Interrupt handlers run on the hart's IRQ stack (kernel/stack.h); a
  // task switched out there would leave its frames on a stack the next
  // interrupt reuses. Switches happen in sched_irq_exit instead.
  if (arch::cpu_block()->irq_depth) {
    pr_err("BUG: schedule() called from an interrupt handler; not switching\n");
    return;
  }
  const unsigned long flags = arch::irq_save();
  RunQueue& rq = this_rq();
  Task* prev = current();
  Task* next;
  {
    SpinLockGuard g(rq.lock);
    if (prev->state.load() == TaskState::kRunnable) enqueue_locked(rq, prev);
    next = pick_locked(rq);
    rq.need_resched.store(false, std::memory_order_relaxed);
  }
  if (next != prev) context_switch(prev, next);
  arch::irq_restore(flags);
}

extern "C" void sched_tail() {
  Task* prev = this_cpu_read(g_prev);
  if (prev) prev->on_cpu.store(false, std::memory_order_release);
  this_cpu_write(g_prev, nullptr);
}

void sched_yield() {
  this_rq().need_resched.store(true);
  schedule();
}

void sched_start_task(Task* t) {
  // Placement: the online CPU with the fewest queued tasks.
  unsigned best = arch::this_cpu();
  unsigned best_n = ~0u;
  for (unsigned c = 0; c < arch::nr_cpus(); ++c) {
    if ((c != arch::this_cpu() && !arch::cpu_online(c)) || !rq_of(c).idle) continue;
    // Load: queued tasks plus the one running (the caller, on its CPU).
    const unsigned n =
        rq_of(c).nr_running.load() + ((c == arch::this_cpu() || rq_of(c).busy.load()) ? 1 : 0);
    if (n < best_n) {
      best = c;
      best_n = n;
    }
  }
  t->cpu = best;
  t->state.store(TaskState::kRunnable);
  RunQueue& rq = rq_of(best);
  const unsigned long flags = arch::irq_save();
  {
    SpinLockGuard g(rq.lock);
    enqueue_locked(rq, t);
  }
  arch::irq_restore(flags);
}

void wake_up_process(Task* t) {
  TaskState expect = TaskState::kSleeping;
  if (!t->state.compare_exchange_strong(expect, TaskState::kRunnable)) return;
  RunQueue& rq = rq_of(t->cpu);
  const unsigned long flags = arch::irq_save();
  {
    SpinLockGuard g(rq.lock);
    enqueue_locked(rq, t);
  }
  arch::irq_restore(flags);
}

void wake_up_all(WaitQueue& wq) {
  const unsigned long flags = arch::irq_save();
  {
    SpinLockGuard g(wq.lock);
    while (ListNode* n = wq.waiters.pop_front()) wake_up_process(task_of_wait(n));
  }
  arch::irq_restore(flags);
}

namespace sched_detail {

void prepare_to_wait(WaitQueue& wq, Task* t) {
  const unsigned long flags = arch::irq_save();
  {
    SpinLockGuard g(wq.lock);
    if (!t->wait_node.linked()) wq.waiters.push_back(&t->wait_node);
    t->state.store(TaskState::kSleeping);
  }
  arch::irq_restore(flags);
}

void finish_wait(WaitQueue& wq, Task* t) {
  const unsigned long flags = arch::irq_save();
  {
    SpinLockGuard g(wq.lock);
    if (t->wait_node.linked()) t->wait_node.unlink();
    t->state.store(TaskState::kRunnable);
  }
  arch::irq_restore(flags);
}

}  // namespace sched_detail

bool sleep_until_ns(uint64_t deadline) {
  Task* t = current();
  for (;;) {
    if (arch::uptime_ns() >= deadline) return true;
    if (t->killed.load()) return false;
    const unsigned long flags = arch::irq_save();
    {
      SpinLockGuard g(g_sleep_lock);
      t->wake_at_ns = deadline;
      if (!t->sleep_node.linked()) g_sleepers.push_back(&t->sleep_node);
      t->state.store(TaskState::kSleeping);
    }
    arch::irq_restore(flags);
    schedule();
    const unsigned long f2 = arch::irq_save();
    {
      SpinLockGuard g(g_sleep_lock);
      if (t->sleep_node.linked()) t->sleep_node.unlink();
      t->state.store(TaskState::kRunnable);
    }
    arch::irq_restore(f2);
  }
}

void wake_sleeper(Task* t) { wake_up_process(t); }

void sched_tick() {
  if (!sched_ready()) return;
  Task* t = current();
  if (!t) return;
  if (arch::this_cpu() == 0) {
    const uint64_t now = arch::uptime_ns();
    SpinLockGuard g(g_sleep_lock);  // IRQs are off in the tick
    for (ListNode* n = g_sleepers.first(); n && n != g_sleepers.sentinel();) {
      ListNode* next = n->next;
      Task* s = task_of_sleep(n);
      if (s->wake_at_ns <= now || s->killed.load()) {
        n->unlink();
        wake_up_process(s);
      }
      n = next;
    }
  }
  RunQueue& rq = this_rq();
  if (arch::interrupted_user_mode())
    ++t->utime_ticks;
  else
    ++t->stime_ticks;
  if (--t->time_slice <= 0 && rq.nr_running.load(std::memory_order_relaxed) > 0)
    rq.need_resched.store(true, std::memory_order_relaxed);
  if (t->is_idle && rq.nr_running.load(std::memory_order_relaxed) > 0)
    rq.need_resched.store(true, std::memory_order_relaxed);
  // The switch itself waits for sched_irq_exit(), off the IRQ stack.
}

void sched_irq_exit(bool interrupted_user) {
  // Runs after every interrupt: the cheap tests first. g_current is set
  // once this CPU takes part in scheduling (sched_init/sched_idle_entry).
  // Preempt only user code (see the header): the kernel holds no lock
  // there. Idle is always safe to leave.
  Task* t = this_cpu_read(g_current);
  if (!t || !(interrupted_user || t->is_idle)) return;
  if (this_cpu_ptr(&g_rq)->need_resched.load(std::memory_order_relaxed)) schedule();
}

namespace {
struct KthreadStart {
  void (*fn)(void*);
  void* arg;
};
void* kthread_trampoline(void* p) {
  Task* t = current();
  arch::irq_enable();
  KthreadStart* s = static_cast<KthreadStart*>(p);
  void (*fn)(void*) = s->fn;
  void* arg = s->arg;
  kfree(s);
  fn(arg);
  (void)t;
  do_exit(0);  // a kernel thread's end is an exit with status 0
}
}  // namespace

Task* kthread_create(void (*fn)(void*), void* arg, const char* name) {
  auto* s = static_cast<KthreadStart*>(kmalloc(sizeof(KthreadStart), GFP_KERNEL));
  Task* t = s ? task_alloc(name) : nullptr;
  if (!t) {
    kfree(s);
    return nullptr;
  }
  s->fn = fn;
  s->arg = arg;
  arch::prepare_new_context(&t->ctx, t->kstack.top, kthread_trampoline, s);
  return t;
}

}  // namespace k
