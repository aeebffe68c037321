/* KTAP v1 output for the user test programs (Linux
 * Documentation/dev-tools/ktap.rst). Each program prints one subtest block
 * indented by four spaces; the runner (init) prints the "ok N <prog>" line.
 *
 *       KTAP version 1
 *       # Subtest: brk
 *       1..3
 *       ok 1 brk_grows
 *
 * Output goes through dprintf(1, ...), unbuffered, so nothing is printed
 * twice by a forked child and nothing is lost when a child is killed. */
#ifndef TESTS_USER_KTAP_H
#define TESTS_USER_KTAP_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int ktap_planned, ktap_run, ktap_failed;

static inline void ktap_begin(const char* prog, int planned) {
  ktap_planned = planned;
  dprintf(1, "    KTAP version 1\n    # Subtest: %s\n    1..%d\n", prog, planned);
}

/* A "# ..." diagnostic line inside the block. */
__attribute__((format(printf, 1, 2))) static inline void ktap_diag(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(1, "    # %s\n", buf);
}

/* Records one result; returns ok so callers can chain. */
static inline int ktap_result(int ok, const char* name) {
  ++ktap_run;
  if (!ok) ++ktap_failed;
  dprintf(1, "    %s %d %s\n", ok ? "ok" : "not ok", ktap_run, name);
  return ok;
}

static inline void ktap_skip(const char* name, const char* why) {
  ++ktap_run;
  dprintf(1, "    ok %d %s # SKIP %s\n", ktap_run, name, why);
}

/* Exit status of the program: 0 only if every planned test ran and passed. */
static inline int ktap_end(void) {
  if (ktap_run != ktap_planned) {
    ktap_diag("planned %d tests, ran %d", ktap_planned, ktap_run);
    return 1;
  }
  return ktap_failed ? 1 : 0;
}

/* Expectation helper: on failure prints where and what, then yields 0. */
#define CHECK(cond) \
  ((cond) ? 1 : (ktap_diag("%s:%d: failed: %s (errno %d)", __FILE__, __LINE__, #cond, errno), 0))

/* Runs fn(arg) in a child and returns its wait4() status (or -1). The child
 * exits 0 when fn returns. */
static inline int run_in_child(void (*fn)(void*), void* arg) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    fn(arg);
    _exit(0);
  }
  int status = 0;
  struct rusage ru;
  pid_t got = wait4(pid, &status, 0, &ru);
  if (got != pid) return -1;
  return status;
}

/* True if the status says "killed by signal sig". */
static inline int died_of(int status, int sig) {
  return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

static inline int exited_with(int status, int code) {
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* A "Vm...:" / "Rss...:" value from /proc/self/status in kB, or -1. Read
 * with plain syscalls into a static buffer so that measuring does not
 * allocate (which would change what is measured). */
static inline long proc_status_kb(const char* key) {
  static char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  size_t klen = strlen(key);
  for (char* line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':')
      return strtol(line + klen + 1, NULL, 10);
  }
  return -1;
}

/* Path of a file in the image's root: argv0 is "<root>/bin/<prog>". */
static inline const char* root_path(const char* argv0, const char* rel, char* out, size_t outsz) {
  const char* bin = strrchr(argv0, '/');
  size_t len = bin ? (size_t)(bin - argv0) : 0;   /* "<root>/bin" */
  while (len > 0 && argv0[len - 1] != '/') --len; /* "<root>/" */
  snprintf(out, outsz, "%.*s%s", (int)len, argv0, rel);
  if (out[0] == 0 || (len == 0 && argv0[0] != '/')) snprintf(out, outsz, "/%s", rel);
  return out;
}

#endif
