// The scheduler: per-CPU run queues, round-robin with a tick-based time
// slice, preemption of user code from the timer tick, and a placement rule
// for balance (a new task goes to the least-loaded online CPU; a woken task
// returns to the CPU it last ran on). Idle CPUs wait in wfi.
//
// Kernel code is not preempted: a switch happens only in schedule(),
// which callers reach voluntarily (sleep, yield, exit) or on the way out
// of an interrupt of user mode (sched_irq_exit). So a plain spinlock is never held
// across a switch.
#pragma once

#include <cstdint>

#include "kernel/sched/task.h"

namespace k {

// Turns the boot context into the CPU 0 task "kmain" and starts CPU 0's
// idle task; other CPUs join through sched_idle_entry(). Needs kmalloc
// and vmalloc (kernel stacks).
bool sched_init();
bool sched_ready();
// Secondary CPUs' idle loop (arch/riscv/kernel/smp.cpp secondary_main):
// waits for sched_init, then runs queued tasks and wfi's when none are.
[[noreturn]] void sched_idle_entry();

Task* current();
void schedule();
void sched_yield();
// Called on every CPU's timer tick (kernel/timer.cpp), on the IRQ stack:
// time slices and timed sleepers; asks for a switch (need_resched).
void sched_tick();
// Called by the trap code after an outermost interrupt, back on the
// interrupted task's stack (a switch must not happen on the per-hart IRQ
// stack): switches if the tick asked and the interrupt came from user
// mode or the idle task.
void sched_irq_exit(bool interrupted_user);

// A task with a fresh kernel stack, not yet runnable. nullptr without
// memory.
Task* task_alloc(const char* name);
// Frees a task that never ran or has been reaped (off every CPU).
void task_free(Task* t);
// Makes a new task runnable on the least-loaded online CPU.
void sched_start_task(Task* t);
// A kernel thread that will run fn(arg) and then exit with status 0;
// not yet started (kernel/proc/process.h kthread_spawn links it into the
// task tree and starts it). nullptr without memory.
Task* kthread_create(void (*fn)(void*), void* arg, const char* name);

void wake_up_process(Task* t);
void wake_up_all(WaitQueue& wq);

// Sleeps on wq until cond() holds (checked under wq.lock after each
// wake-up) or the task has a pending SIGKILL; returns cond().
template <typename Cond>
bool wait_event(WaitQueue& wq, Cond&& cond);

// Sleeps until uptime_ns() >= deadline (or SIGKILL); returns whether the
// deadline passed.
bool sleep_until_ns(uint64_t deadline);

unsigned rq_nr_running(unsigned cpu);
uint64_t nr_context_switches();

// Called by wait_event around the sleep; internal.
namespace sched_detail {
void prepare_to_wait(WaitQueue& wq, Task* t);
void finish_wait(WaitQueue& wq, Task* t);
}  // namespace sched_detail

template <typename Cond>
bool wait_event(WaitQueue& wq, Cond&& cond) {
  Task* t = current();
  for (;;) {
    sched_detail::prepare_to_wait(wq, t);
    if (cond() || t->killed.load()) break;
    schedule();
  }
  sched_detail::finish_wait(wq, t);
  return cond();
}

}  // namespace k
