/* Allocation-failure sweep from user space (issue 9): for each operation,
 * a fresh child arms /proc/self/fail-nth with N = 1, 2, 3, ... (Linux's
 * fault-injection interface) and runs the operation once. Every run must
 * either succeed, fail with ENOMEM, or be killed by the kernel's
 * out-of-memory path (SIGKILL, seen through wait4) -- never another errno,
 * another signal or a hang. The sweep of an operation ends with the first
 * run that finishes before its N-th fault point (the counter is still
 * > 0 afterwards). The kernel's runner checks after this program that
 * every page came back (kernel/proc/runner.cpp, mm/accounting.h).
 *
 * Child exit codes: 0 done (succeeded, counter not reached), 1 succeeded
 * although a failure was injected (recovered), 2 clean ENOMEM, 3 broken.
 * After a successful execve the failure can hit the new image's start-up:
 * glibc's static start-up reports an ENOMEM from its RELRO mprotect and
 * exits 127 ("cannot apply additional memory protection after
 * relocation"), which counts as a clean ENOMEM for that operation only. */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "ktap.h"

enum { kDone = 0, kRecovered = 1, kCleanError = 2, kBroken = 3 };
enum { kMaxRuns = 3000 };

static const char* self_path;
static int nth_fd = -1;

/* Opens this process's counter; before arming, so the open's own
 * allocations do not count. */
static int nth_open(void) {
  nth_fd = open("/proc/self/fail-nth", O_RDWR);
  return nth_fd >= 0;
}
static void nth_arm(unsigned n) {
  char b[16];
  int l = snprintf(b, sizeof b, "%u", n);
  if (write(nth_fd, b, (size_t)l) != l) _exit(kBroken);
}
/* The counter left: 0 = the injected failure fired. Reading allocates
 * nothing in the kernel. */
static unsigned nth_left(void) {
  char b[16] = {0};
  if (pread(nth_fd, b, sizeof b - 1, 0) <= 0) _exit(kBroken);
  return (unsigned)strtoul(b, NULL, 10);
}
/* Ends an armed child: disarm, then say whether the operation got past
 * every fault point. */
__attribute__((noreturn)) static void finish(int op_ok, int err) {
  unsigned left = nth_left();
  nth_arm(0);
  if (!op_ok) {
    if (err != ENOMEM) {
      dprintf(1, "    # unexpected errno %d (%s), fail-nth left %u\n", err, strerror(err), left);
      _exit(kBroken);
    }
    _exit(left ? kBroken : kCleanError); /* an error with nothing injected is a bug */
  }
  _exit(left ? kDone : kRecovered);
}

static void touch(volatile char* p, size_t len) {
  for (size_t i = 0; i < len; i += 4096) p[i] = (char)i;
}

static void op_mmap_touch(void) {
  const size_t len = 16 * 4096;
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) finish(0, errno);
  touch(p, len);
  int ok = munmap(p, len) == 0;
  finish(ok, errno);
}

static void op_brk(void) {
  char* old = (char*)syscall(SYS_brk, 0);
  char* want = old + 16 * 4096;
  char* got = (char*)syscall(SYS_brk, want);
  if (got != want) finish(0, ENOMEM); /* brk reports failure by not moving */
  touch(old, 16 * 4096);
  /* Shrinking may need memory too (a VMA split); brk then stays put. */
  if (syscall(SYS_brk, old) != (long)old) finish(0, ENOMEM);
  finish(1, 0);
}

static void op_fork(void) {
  pid_t pid = fork();
  if (pid < 0) finish(0, errno);
  if (pid == 0) _exit(0);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    _exit(kBroken);
  finish(1, 0);
}

static void op_execve(void) {
  /* The counter fd stays open across exec (no O_CLOEXEC): the new image
   * reports through it (main, "--exec-report <fd>"). */
  char fd_arg[16];
  snprintf(fd_arg, sizeof fd_arg, "%d", nth_fd);
  char* const argv[] = {(char*)self_path, "--exec-report", fd_arg, NULL};
  char* const envp[] = {NULL};
  execve(self_path, argv, envp);
  finish(0, errno);
}

static void op_mprotect_split(void) {
  const size_t len = 4 * 4096;
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) finish(0, errno);
  touch(p, len);
  /* The middle page read-only: one VMA becomes three. */
  if (mprotect(p + 4096, 4096, PROT_READ) != 0) {
    int err = errno;
    munmap(p, len);
    finish(0, err);
  }
  finish(munmap(p, len) == 0, errno);
}

struct op {
  const char* name;
  void (*fn)(void);
  int startup_enomem_exit; /* an exit code that also means a clean ENOMEM */
};
static const struct op kOps[] = {
    {"mmap_touch", op_mmap_touch, -1},
    {"brk", op_brk, -1},
    {"fork", op_fork, -1},
    {"execve", op_execve, 127},
    {"mprotect_split", op_mprotect_split, -1},
};

static int sweep(const struct op* op) {
  unsigned recovered = 0, enomem = 0, killed = 0;
  for (unsigned n = 1; n <= kMaxRuns; ++n) {
    pid_t pid = fork();
    if (pid < 0) {
      ktap_diag("%s: fork for run %u failed (errno %d)", op->name, n, errno);
      return 0;
    }
    if (pid == 0) {
      if (!nth_open()) _exit(kBroken);
      nth_arm(n);
      op->fn();
      _exit(kBroken); /* every op ends in finish() */
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
      ktap_diag("%s: wait4 failed (errno %d)", op->name, errno);
      return 0;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++killed; /* the out-of-memory path: clean */
      continue;
    }
    if (!WIFEXITED(status)) {
      ktap_diag("%s: run %u ended with wait status %#x", op->name, n, status);
      return 0;
    }
    if (WEXITSTATUS(status) == op->startup_enomem_exit) {
      ++enomem;
      continue;
    }
    switch (WEXITSTATUS(status)) {
      case kDone:
        ktap_diag("%s: %u fault points; %u ENOMEM, %u OOM-killed, %u recovered", op->name, n - 1,
                  enomem, killed, recovered);
        return 1;
      case kRecovered:
        ++recovered;
        break;
      case kCleanError:
        ++enomem;
        break;
      default:
        ktap_diag("%s: run %u is broken (exit %d)", op->name, n, WEXITSTATUS(status));
        return 0;
    }
  }
  ktap_diag("%s: still finding fault points after %d runs", op->name, kMaxRuns);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--exec-report") == 0) {
    /* The exec'd image: the execve and the start of this program were
     * the operation. */
    nth_fd = atoi(argv[2]);
    finish(1, 0);
  }
  self_path = argv[0];
  const int n = (int)(sizeof kOps / sizeof kOps[0]);
  ktap_begin("fail_sweep", n + 1);
  /* The interface itself: absent counter reads 0, armed reads back. */
  int iface = nth_open();
  if (iface) {
    char b[16] = {0};
    iface = CHECK(pread(nth_fd, b, sizeof b - 1, 0) > 0) && CHECK(strcmp(b, "0\n") == 0) &&
            CHECK(write(nth_fd, "x", 1) == -1 && errno == EINVAL);
    close(nth_fd);
  }
  ktap_result(iface, "proc_self_fail_nth_reads_and_rejects_garbage");
  for (int i = 0; i < n; ++i) ktap_result(sweep(&kOps[i]), kOps[i].name);
  return ktap_end();
}
