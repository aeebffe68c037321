/* Many processes forking and exiting concurrently: WORKERS children each
 * fork ROUNDS grandchildren that dirty copy-on-write memory and exit with a
 * known code; every status is collected and no child is left behind. */
#include <sched.h>
#include <sys/mman.h>

#include "ktap.h"

#define WORKERS 16
#define ROUNDS 16
#define PAGE 4096UL

static char shared_cow[8 * 4096];

static int worker(int w) {
  for (int r = 0; r < ROUNDS; ++r) {
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid < 0) return 10;
    if (pid == 0) {
      if (getppid() != me) _exit(120);
      for (unsigned long i = 0; i < sizeof shared_cow; i += PAGE) shared_cow[i] = (char)(w + r);
      if (r & 1) sched_yield();
      _exit((w * ROUNDS + r) & 0x7f);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) return 11;
    if (!exited_with(status, (w * ROUNDS + r) & 0x7f)) return 12;
    if (shared_cow[0] != 0) return 13;
  }
  return 0;
}

int main(void) {
  ktap_begin("fork_many", 3);
  pid_t pids[WORKERS];
  int ok = 1;
  for (int w = 0; w < WORKERS; ++w) {
    pids[w] = fork();
    if (pids[w] == 0) _exit(worker(w));
    ok &= CHECK(pids[w] > 0);
  }
  ktap_result(ok, "fork_workers");

  int good = 0;
  for (int w = 0; w < WORKERS; ++w) {
    int status;
    if (pids[w] > 0 && waitpid(pids[w], &status, 0) == pids[w] && exited_with(status, 0)) {
      ++good;
    } else {
      ktap_diag("worker %d status %#x", w, status);
    }
  }
  ktap_result(CHECK(good == WORKERS), "all_workers_and_grandchildren_exit_cleanly");

  errno = 0;
  ok = CHECK(wait(NULL) == -1 && errno == ECHILD);
  ktap_result(ok, "no_child_left_behind");
  return ktap_end();
}
