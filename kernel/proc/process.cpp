// Process lifetime: pids, the task tree, fork, exit, wait4, kill, the
// status view, and the user traps (see kernel/proc/process.h).
#include "kernel/proc/process.h"

#include <cstring>

#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/platform.h>
#include <arch/user_pgtable.h>

#include "arch/riscv/kernel/irq.h"
#include "arch/riscv/kernel/uaccess.h"
#include "kernel/printk.h"
#include "kernel/proc/exec.h"
#include "kernel/proc/file.h"
#include "kernel/proc/syscall.h"
#include "kernel/sched/sched.h"
#include "lib/format.h"
#include "mm/fault.h"
#include "mm/fault_bench.h"
#include "mm/fault_inject.h"
#include "mm/kmalloc.h"
#include "mm/mm_struct.h"

namespace k {
namespace {

// Lock rank: outside the run-queue and wait-queue locks. Guards pids,
// parent/children links, the all-tasks list and the zombie transition.
SpinLock g_proc_lock;
ListHead g_all_tasks;
ListHead g_orphans;  // zombies without a parent (linked by sibling)
int g_next_pid = 1;
std::atomic<uint64_t> g_nr_tasks{0};

constexpr int kPidMax = 32768;  // Linux default pid_max

Task* task_of_sibling(ListNode* n) { return container_of(n, &Task::sibling); }
Task* task_of_all(ListNode* n) { return container_of(n, &Task::all_node); }

Task* find_locked(int pid) {
  for (ListNode* n = g_all_tasks.first(); n && n != g_all_tasks.sentinel(); n = n->next)
    if (task_of_all(n)->pid == pid) return task_of_all(n);
  return nullptr;
}

int alloc_pid_locked() {
  for (int i = 0; i < kPidMax; ++i) {
    const int pid = g_next_pid;
    g_next_pid = g_next_pid + 1 >= kPidMax ? 1 : g_next_pid + 1;
    if (!find_locked(pid)) return pid;
  }
  return -1;
}

// Links a new task below `parent` with a fresh pid.
bool attach_task(Task* t, Task* parent) {
  IrqSpinLockGuard g(g_proc_lock);
  const int pid = alloc_pid_locked();
  if (pid < 0) return false;
  t->pid = pid;
  t->parent = parent;
  if (parent) parent->children.push_back(&t->sibling);
  g_all_tasks.push_back(&t->all_node);
  g_nr_tasks.fetch_add(1);
  return true;
}

// Parent-less tasks (kmain, kernel threads) are listed too, for ps.
void attach_kernel_task(Task* t) {
  IrqSpinLockGuard g(g_proc_lock);
  if (t->all_node.linked()) return;
  t->pid = 0;
  g_all_tasks.push_back(&t->all_node);
}

void release_task(Task* t) {
  files_free(t->files);
  t->files = nullptr;
  task_free(t);
  g_nr_tasks.fetch_sub(1);
}

// A user task's kernel code runs below its TrapFrame (the frame sits at
// the top of the kernel stack, where trap entry puts it).
uint64_t user_stack_start(const Task* t) { return reinterpret_cast<uint64_t>(t->user_frame()); }

void* fork_child_start(void*) { return current()->user_frame(); }

// Before returning to user mode: pending SIGKILL, then preemption.
void exit_to_user(arch::TrapFrame&) {
  Task* t = current();
  if (t->killed.load()) do_exit(wait_status_signaled(kSigKill));
  arch::irq_disable();
}

const char* access_name(uint64_t scause) {
  switch (scause) {
    case arch::kInstrPageFault:
      return "exec";
    case arch::kStorePageFault:
      return "write";
    default:
      return "read";
  }
}

bool page_fault_trap(arch::TrapFrame& tf) {
  Task* t = sched_ready() ? current() : nullptr;
  if (!tf.from_user()) {
    // The uaccess routines fault pages in first and have fixups; any
    // other kernel fault on a user address is a bug (oops in trap.cpp).
    if (tf.stval < arch::user_task_size())
      pr_emerg("BUG: kernel access to user address %016llx outside uaccess (pc %016llx)\n",
               static_cast<unsigned long long>(tf.stval), static_cast<unsigned long long>(tf.sepc));
    return false;
  }
  if (!t || !t->mm) return false;
  arch::irq_enable();
  const FaultAccess a = tf.scause == arch::kInstrPageFault   ? FaultAccess::kExec
                        : tf.scause == arch::kStorePageFault ? FaultAccess::kWrite
                                                             : FaultAccess::kRead;
  // Benchmark stamps (mm/fault_bench.h); off unless a benchmark set a window.
  const bool stamped = fault_bench::requested(tf.stval, tf.regs[28]);
  const uint64_t entry = stamped ? fault_bench::begin() : 0;
  const FaultResult r = handle_mm_fault(t->mm, tf.stval, a);
  if (stamped) fault_bench::end(entry, &tf.regs[28]);
  if (r != FaultResult::kOk) {
    const int sig = r == FaultResult::kBus ? kSigBus : r == FaultResult::kOom ? kSigKill : kSigSegv;
    pr_warn("pid %d (%s): %s %s fault at %016llx, pc %016llx: killed by signal %d\n", t->pid,
            t->comm, fault_result_name(r), access_name(tf.scause),
            static_cast<unsigned long long>(tf.stval), static_cast<unsigned long long>(tf.sepc),
            sig);
    do_exit(wait_status_signaled(sig));
  }
  exit_to_user(tf);
  return true;
}

// U-mode exceptions other than page faults and ecall: the signal Linux
// sends for each (arch/riscv/kernel/traps.c), default action = death.
bool user_exception_trap(arch::TrapFrame& tf) {
  Task* t = sched_ready() ? current() : nullptr;
  if (!t || !t->mm) return false;
  int sig = kSigSegv;
  switch (tf.scause) {
    case arch::kIllegalInstr:
      sig = kSigIll;
      break;
    case arch::kBreakpoint:
      sig = kSigTrap;
      break;
    case arch::kInstrMisaligned:
    case arch::kLoadMisaligned:
    case arch::kStoreMisaligned:
      sig = kSigBus;
      break;
    default:
      sig = kSigSegv;
      break;
  }
  pr_warn("pid %d (%s): %s at pc %016llx (stval %016llx): killed by signal %d\n", t->pid, t->comm,
          arch::cause_name(tf.scause), static_cast<unsigned long long>(tf.sepc),
          static_cast<unsigned long long>(tf.stval), sig);
  arch::irq_enable();
  do_exit(wait_status_signaled(sig));
}

bool syscall_trap(arch::TrapFrame& tf) {
  Task* t = sched_ready() ? current() : nullptr;
  if (!t || !t->mm) return false;
  tf.sepc += 4;  // past the ecall (Privileged spec 3.3.1: sepc = the ecall)
  arch::irq_enable();
  const int64_t ret = syscall_dispatch(tf);
  tf.regs[10] = static_cast<uint64_t>(ret);
  exit_to_user(tf);
  return true;
}

// An interrupt (the timer tick) is about to return to user code: a process
// that was sent SIGKILL while looping in user mode dies here (it may never
// make another syscall or fault).
bool user_irq_return_trap(arch::TrapFrame&) {
  Task* t = sched_ready() ? current() : nullptr;
  if (!t || !t->mm || !t->killed.load()) return true;
  arch::irq_enable();
  do_exit(wait_status_signaled(kSigKill));
}

bool uaccess_fault_in(uint64_t addr, bool write) {
  Task* t = sched_ready() ? current() : nullptr;
  return t && t->mm && fault_in_user_page(t->mm, addr, write);
}

}  // namespace

uint64_t nr_tasks() { return g_nr_tasks.load(); }

Task* find_task_by_pid(int pid) { return find_locked(pid); }

bool proc_init() {
  if (!fault_init() || !mm_struct_init()) {
    pr_err("proc: no memory for the zero page or the mm caches\n");
    return false;
  }
  if (!sched_init()) return false;
  arch::asid_init();
  attach_kernel_task(current());
  arch::set_uaccess_fault_in(uaccess_fault_in);
  arch::set_page_fault_handler(page_fault_trap);
  arch::set_syscall_handler(syscall_trap);
  arch::set_user_exception_handler(user_exception_trap);
  arch::set_user_irq_return_handler(user_irq_return_trap);
  return true;
}

Result<int> spawn_user(const char* path, const char* const* argv, const char* const* envp) {
  Task* parent = current();
  const char* base = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/' && p[1]) base = p + 1;
  Task* t = task_alloc(base);
  if (!t) return Errno::kENOMEM;
  t->out_prefix = parent->out_prefix;
  t->files = files_new_console();
  if (!t->files || !attach_task(t, parent)) {
    files_free(t->files);
    t->files = nullptr;
    task_free(t);
    return Errno::kENOMEM;
  }
  // The caller builds the child's address space and first frame; the
  // child starts directly in user mode.
  auto r = exec_into(t, path, argv, envp);
  if (!r.ok()) {
    {
      IrqSpinLockGuard g(g_proc_lock);
      t->sibling.unlink();
      t->all_node.unlink();
    }
    release_task(t);
    return r.error();
  }
  arch::prepare_new_context(&t->ctx, user_stack_start(t), fork_child_start, nullptr);
  const int pid = t->pid;
  sched_start_task(t);
  return pid;
}

Result<int> kthread_spawn(void (*fn)(void*), void* arg, const char* name) {
  Task* t = kthread_create(fn, arg, name);
  if (!t) return Errno::kENOMEM;
  if (!attach_task(t, current())) {
    kfree(reinterpret_cast<void*>(t->ctx.s[1]));  // the start record (arch/context.h)
    task_free(t);
    return Errno::kENOMEM;
  }
  const int pid = t->pid;
  sched_start_task(t);
  return pid;
}

Result<int> do_fork(uint64_t flags, uint64_t newsp, uint64_t child_tidptr) {
  // Linux uapi sched.h: the low byte is the exit signal.
  constexpr uint64_t kCloneChildSettid = 0x01000000, kCloneChildCleartid = 0x00200000;
  constexpr uint64_t kCloneParentSettid = 0x00100000;
  if ((flags & 0xff) != static_cast<uint64_t>(kSigChld) ||
      (flags & ~uint64_t{0xff} & ~(kCloneChildSettid | kCloneChildCleartid | kCloneParentSettid)))
    return Errno::kEINVAL;
  Task* parent = current();
  Task* child = task_alloc(parent->comm);
  if (!child) return Errno::kENOMEM;
  child->mm = dup_mm(parent->mm);
  child->files = child->mm ? files_dup(parent->files) : nullptr;
  if (!child->mm || !child->files || !attach_task(child, parent)) {
    files_free(child->files);
    child->files = nullptr;
    if (child->mm) mmput(child->mm);
    child->mm = nullptr;
    task_free(child);
    return Errno::kENOMEM;
  }
  arch::fpu_save(&parent->fpu);
  child->fpu = parent->fpu;
  memcpy(child->sigactions, parent->sigactions, sizeof(child->sigactions));
  child->sigmask = parent->sigmask;
  child->out_prefix = parent->out_prefix;
  *child->user_frame() = *parent->user_frame();
  child->user_frame()->regs[10] = 0;  // fork returns 0 in the child
  if (newsp) child->user_frame()->regs[2] = newsp;
  if (flags & kCloneChildCleartid) child->clear_child_tid = child_tidptr;
  if (flags & kCloneChildSettid) {
    // Written into the child's memory: its copy of the page.
    const int32_t tid = child->pid;
    auto* mm = child->mm;
    if (fault_in_user_page(mm, child_tidptr, true)) {
      uint64_t* slot = arch::user_pte_slot(&mm->pgd, child_tidptr & kPageMask, false);
      if (slot && arch::user_pte_valid(arch::user_pte_get(slot))) {
        auto* p = static_cast<uint8_t*>(
            arch::phys_to_virt(arch::user_pte_phys(arch::user_pte_get(slot))));
        if ((child_tidptr & (kPageSize - 1)) <= kPageSize - 4)
          memcpy(p + (child_tidptr & (kPageSize - 1)), &tid, 4);
      }
    }
  }
  arch::prepare_new_context(&child->ctx, user_stack_start(child), fork_child_start, nullptr);
  const int pid = child->pid;
  sched_start_task(child);
  return pid;
}

[[noreturn]] void do_exit(int wait_status) {
  Task* t = current();
  arch::irq_enable();
  if (t->clear_child_tid && t->mm) {
    // CLONE_CHILD_CLEARTID: glibc's thread handle; nobody futex-waits on
    // it in a single-threaded process, so only the store matters.
    (void)arch::put_user<int32_t>(0, t->clear_child_tid);
  }
  files_free(t->files);
  t->files = nullptr;
  if (MmStruct* mm = t->mm) {
    arch::fpu_save(&t->fpu);  // FS stays consistent; state is discarded
    arch::irq_disable();
    arch::switch_mm(nullptr);
    t->mm = nullptr;
    arch::irq_enable();
    mmput(mm);
  }
  Task* to_free[16];
  unsigned nfree = 0;
  Task* parent;
  {
    IrqSpinLockGuard g(g_proc_lock);
    // Children become orphans; those already dead are freed below.
    while (ListNode* n = t->children.pop_front()) {
      Task* c = task_of_sibling(n);
      c->parent = nullptr;
      if (c->state.load() == TaskState::kZombie) {
        c->all_node.unlink();
        if (nfree < 16)
          to_free[nfree++] = c;
        else
          g_orphans.push_back(&c->sibling);
      }
    }
    t->exit_status = wait_status;
    parent = t->parent;
    if (!parent) g_orphans.push_back(&t->sibling);
    t->state.store(TaskState::kZombie);
  }
  for (unsigned i = 0; i < nfree; ++i) release_task(to_free[i]);
  if (parent) wake_up_all(parent->child_exit);
  schedule();
  pr_emerg("exit: zombie pid %d scheduled again\n", t->pid);
  for (;;) arch::wait_for_interrupt();
}

void reap_orphans() {
  for (;;) {
    Task* z = nullptr;
    {
      IrqSpinLockGuard g(g_proc_lock);
      for (ListNode* n = g_orphans.first(); n && n != g_orphans.sentinel(); n = n->next) {
        Task* c = task_of_sibling(n);
        if (c->state.load() == TaskState::kZombie) {
          n->unlink();
          c->all_node.unlink();
          z = c;
          break;
        }
      }
    }
    if (!z) return;
    release_task(z);
  }
}

Result<int> do_wait4(int pid, int* status, int options) {
  constexpr int kWnohang = 1;
  if (options & ~kWnohang) return Errno::kEINVAL;
  Task* self = current();
  reap_orphans();
  Task* zombie = nullptr;
  bool have_child = false;
  auto scan = [&]() {
    // wait_event() evaluates the condition once more after it held: a
    // second scan must not unlink another zombie (it would be lost).
    if (zombie) return true;
    IrqSpinLockGuard g(g_proc_lock);
    have_child = false;
    for (ListNode* n = self->children.first(); n && n != self->children.sentinel(); n = n->next) {
      Task* c = task_of_sibling(n);
      if (pid > 0 && c->pid != pid) continue;
      have_child = true;
      if (c->state.load() == TaskState::kZombie) {
        c->sibling.unlink();
        c->all_node.unlink();
        zombie = c;
        return true;
      }
    }
    return !have_child;
  };
  if (!scan()) {
    if (options & kWnohang) return 0;
    wait_event(self->child_exit, scan);
  }
  if (!zombie) {
    if (self->killed.load() && have_child) return Errno::kEINTR;
    return Errno::kECHILD;
  }
  const int zpid = zombie->pid;
  if (status) *status = zombie->exit_status;
  release_task(zombie);
  return zpid;
}

Result<void> do_kill(int pid, int sig) {
  if (sig < 0 || sig >= static_cast<int>(kNrSignals)) return Errno::kEINVAL;
  if (pid <= 0) return Errno::kEINVAL;
  Task* t;
  {
    IrqSpinLockGuard g(g_proc_lock);
    t = find_locked(pid);
    if (!t || !t->mm) return Errno::kESRCH;
    if (sig == 0) return {};
    if (sig != kSigKill) return Errno::kEINVAL;
    t->killed.store(true);
    if (t->state.load() == TaskState::kSleeping) wake_up_process(t);
  }
  return {};
}

size_t format_proc_status(const Task* t, char* buf, size_t len) {
  const MmStruct* mm = t->mm;
  const char state = t->state.load() == TaskState::kZombie     ? 'Z'
                     : t->state.load() == TaskState::kSleeping ? 'S'
                                                               : 'R';
  const char* state_name = state == 'Z' ? "zombie" : state == 'S' ? "sleeping" : "running";
  const uint64_t kb = kPageSize / 1024;
  const uint64_t anon = mm ? static_cast<uint64_t>(mm->rss_anon.load()) : 0;
  const uint64_t file = mm ? static_cast<uint64_t>(mm->rss_file.load()) : 0;
  return snformat(
      buf, len,
      "Name:\t%s\nState:\t%c (%s)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n"
      "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
      "VmPeak:\t%8llu kB\nVmSize:\t%8llu kB\nVmHWM:\t%8llu kB\nVmRSS:\t%8llu kB\n"
      "RssAnon:\t%8llu kB\nRssFile:\t%8llu kB\nRssShmem:\t%8llu kB\n"
      "VmData:\t%8llu kB\nVmStk:\t%8llu kB\nVmPTE:\t%8llu kB\nThreads:\t1\n"
      "Cpus_allowed_list:\t0-%u\n",
      t->comm, state, state_name, t->pid, t->pid, t->parent ? t->parent->pid : 0,
      static_cast<unsigned long long>(mm ? mm->hiwater_vm * kb : 0),
      static_cast<unsigned long long>(mm ? mm->vmas.total_pages() * kb : 0),
      static_cast<unsigned long long>(mm ? mm->hiwater_rss * kb : 0),
      static_cast<unsigned long long>((anon + file) * kb),
      static_cast<unsigned long long>(anon * kb), static_cast<unsigned long long>(file * kb), 0ull,
      static_cast<unsigned long long>(mm ? (mm->brk - mm->start_brk) / 1024 : 0),
      static_cast<unsigned long long>(mm ? kStackLimit / 1024 : 0),
      static_cast<unsigned long long>(mm ? mm_pgtable_pages(mm) * kb : 0), arch::nr_cpus() - 1);
}

char* proc_status_text(int pid, size_t* len) {
  constexpr size_t kMax = 1024;
  char* buf = static_cast<char*>(kmalloc(kMax, GFP_KERNEL));
  if (!buf) return nullptr;
  IrqSpinLockGuard g(g_proc_lock);
  const Task* t = pid == 0 ? current() : find_locked(pid);
  if (!t) {
    kfree(buf);
    return nullptr;
  }
  size_t n = format_proc_status(t, buf, kMax);
  *len = n < kMax ? n : kMax - 1;
  return buf;
}

bool proc_fail_nth_read(int pid, uint32_t* out) {
  IrqSpinLockGuard g(g_proc_lock);
  const Task* t = pid == 0 ? current() : find_locked(pid);
  if (!t) return false;
  *out = t->fail_nth.load(std::memory_order_relaxed);
  return true;
}

bool proc_fail_nth_write(int pid, uint32_t n) {
  IrqSpinLockGuard g(g_proc_lock);
  Task* t = pid == 0 ? current() : find_locked(pid);
  if (!t) return false;
  fail_nth_arm(t->fail_nth, n);
  return true;
}

void show_tasks() {
  printk_raw("  PID  PPID CPU S  VSZ(kB)  RSS(kB) ANON(kB) FILE(kB) PTE(kB) COMMAND\n");
  IrqSpinLockGuard g(g_proc_lock);
  for (ListNode* n = g_all_tasks.first(); n && n != g_all_tasks.sentinel(); n = n->next) {
    const Task* t = task_of_all(n);
    const MmStruct* mm = t->mm;
    const char s = t->state.load() == TaskState::kZombie     ? 'Z'
                   : t->state.load() == TaskState::kSleeping ? 'S'
                                                             : 'R';
    const uint64_t kb = kPageSize / 1024;
    printk_raw("%5d %5d %3u %c %8llu %8llu %8llu %8llu %7llu %s\n", t->pid,
               t->parent ? t->parent->pid : 0, t->cpu, s,
               static_cast<unsigned long long>(mm ? mm->vmas.total_pages() * kb : 0),
               static_cast<unsigned long long>(mm ? mm->rss() * kb : 0),
               static_cast<unsigned long long>(mm ? mm->rss_anon.load() * kb : 0),
               static_cast<unsigned long long>(mm ? mm->rss_file.load() * kb : 0),
               static_cast<unsigned long long>(mm ? mm_pgtable_pages(mm) * kb : 0), t->comm);
  }
}

}  // namespace k
