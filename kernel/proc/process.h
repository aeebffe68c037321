// Processes: creation (exec from the initramfs, fork), exit, wait4, kill,
// and the traps user code takes (system calls, page faults).
#pragma once

#include <cstdint>

#include "kernel/sched/task.h"
#include "lib/result.h"

namespace k {

// Linux signal numbers used for exit statuses (asm-generic/signal.h).
inline constexpr int kSigIll = 4;
inline constexpr int kSigTrap = 5;
inline constexpr int kSigBus = 7;
inline constexpr int kSigKill = 9;
inline constexpr int kSigSegv = 11;
inline constexpr int kSigChld = 17;

// wait4 status words (Linux: exit code << 8, or the signal number).
constexpr int wait_status_exited(int code) { return (code & 0xff) << 8; }
constexpr int wait_status_signaled(int sig) { return sig & 0x7f; }

// Registers the syscall and page-fault handlers and the uaccess fault-in
// hook; starts the scheduler. After the allocators and SMP bring-up.
bool proc_init();

// Starts `path` from the initramfs as a new process whose parent is the
// calling task (a kernel thread or process). Returns its pid.
Result<int> spawn_user(const char* path, const char* const* argv, const char* const* envp);

// Replaces the current task's program (the calling task becomes a user
// process if it was not one). Strings are kernel copies. On success the
// task's user frame is set up to enter the new program.
Result<void> do_execve(const char* path, const char* const* argv, const char* const* envp);

// Starts a kernel thread running fn(arg) as a child of the calling task
// (reaped with do_wait4 like a process). Returns its pid.
Result<int> kthread_spawn(void (*fn)(void*), void* arg, const char* name);

// fork semantics of clone(): returns the child's pid.
Result<int> do_fork(uint64_t flags, uint64_t newsp, uint64_t child_tidptr);

[[noreturn]] void do_exit(int wait_status);

// wait4: pid -1 = any child, > 0 that child. WNOHANG -> 0 if none exited.
Result<int> do_wait4(int pid, int* status, int options);

Result<void> do_kill(int pid, int sig);

Task* find_task_by_pid(int pid);  // takes no reference; under proc lock only

// Prints one line per task (the `ps` shell command).
void show_tasks();
// Writes /proc/<pid>/status for `t` into buf (Linux fs/proc/array.c
// field names); returns the length.
size_t format_proc_status(const Task* t, char* buf, size_t len);
// Builds /proc/<pid>/status for a pid (0 = the current task) into a
// kmalloc'd buffer; nullptr if no such task.
char* proc_status_text(int pid, size_t* len);

// /proc/<pid>/fail-nth (mm/fault_inject.h; pid 0 = the current task):
// reads the task's counter or arms it; false if there is no such task.
bool proc_fail_nth_read(int pid, uint32_t* out);
bool proc_fail_nth_write(int pid, uint32_t n);

// Live tasks (self-test leak counter).
uint64_t nr_tasks();
// Frees orphaned zombies (process context).
void reap_orphans();

}  // namespace k
