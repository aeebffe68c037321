// A task: one thread of execution with its own guarded kernel stack
// (kernel/stack.h). A user process is a task with an address space (Linux
// task_struct; processes have one thread here).
//
// Lifetime: created by kthread_create/fork/the exec runner; runs until
// do_exit() makes it a zombie; the parent's wait4 (or the orphan reaper)
// frees its kernel stack and the struct once it is off every CPU.
#pragma once

#include <arch/context.h>

#include <atomic>
#include <cstdint>

#include "kernel/stack.h"
#include "lib/list.h"
#include "lib/spinlock.h"

namespace k {

struct MmStruct;
struct FileTable;

enum class TaskState : uint8_t {
  kRunnable,  // on a run queue or running
  kSleeping,  // waiting for a wake_up_process()
  kZombie,    // exited, waiting to be reaped
};

// A list of sleeping tasks (Linux wait_queue_head_t).
struct WaitQueue {
  SpinLock lock;
  ListHead waiters;
};

inline constexpr unsigned kTaskCommLen = 16;  // Linux TASK_COMM_LEN
inline constexpr unsigned kNrSignals = 64;

struct SigAction {
  uint64_t handler = 0;  // SIG_DFL = 0, SIG_IGN = 1, else a user address
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

struct Task {
  arch::SwitchContext ctx;
  arch::FpuState fpu;
  KernelStack kstack;
  std::atomic<TaskState> state{TaskState::kRunnable};
  std::atomic<bool> on_cpu{false};  // running or switching on some CPU
  bool on_rq = false;               // queued (under the run queue lock)
  bool is_idle = false;
  unsigned cpu = 0;
  ListNode run_node;
  ListNode wait_node;      // on a WaitQueue while sleeping
  uint64_t irq_depth = 0;  // CpuBlock::irq_depth while switched out
  int time_slice = 0;
  uint64_t wake_at_ns = 0;  // nanosleep deadline (0: none)
  ListNode sleep_node;      // on the global timed-sleep list

  // Process part.
  int pid = 0;
  Task* parent = nullptr;
  ListHead children;
  ListNode sibling;
  ListNode all_node;  // on the global task list (ps)
  char comm[kTaskCommLen] = {};
  MmStruct* mm = nullptr;
  FileTable* files = nullptr;
  int exit_status = 0;              // wait4 status word
  std::atomic<bool> killed{false};  // SIGKILL pending
  WaitQueue child_exit;             // the parent sleeps here in wait4
  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;
  uint64_t sigmask = 0;
  SigAction sigactions[kNrSignals];
  uint64_t start_ns = 0;
  uint64_t utime_ticks = 0, stime_ticks = 0;
  // Console output of this process gets this prefix at each line start
  // (the KTAP runner turns program output into diagnostic lines of the
  // program's test case); inherited across fork and exec. Static string.
  const char* out_prefix = nullptr;
  bool out_bol = true;
  // Fault injection: fail the N-th allocation from now (mm/fault_inject.h,
  // /proc/<pid>/fail-nth); 0 = off. Not inherited.
  std::atomic<uint32_t> fail_nth{0};

  bool is_user() const { return mm != nullptr; }
  // The user register frame at the top of the kernel stack.
  arch::TrapFrame* user_frame() const {
    return reinterpret_cast<arch::TrapFrame*>(kstack.top - sizeof(arch::TrapFrame));
  }
};

}  // namespace k
