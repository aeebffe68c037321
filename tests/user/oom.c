/* Out of memory: a child that touches anonymous memory without end is
 * killed (SIGKILL, as Linux's OOM killer does), the parent survives and can
 * allocate again, because every page of the victim came back. */
#include <sys/mman.h>

#include "ktap.h"

#define PAGE 4096UL
#define CHUNK (16UL << 20)
/* Stop somewhere: no test machine has 1 TiB; reaching it means nothing
 * was ever refused or killed. */
#define LIMIT (1UL << 40)

static void hog(void* unused) {
  (void)unused;
  for (unsigned long total = 0; total < LIMIT; total += CHUNK) {
    char* p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) _exit(2); /* refused instead of killed */
    for (unsigned long i = 0; i < CHUNK; i += PAGE) p[i] = 1;
  }
  _exit(3);
}

int main(void) {
  ktap_begin("oom", 3);
  int status = run_in_child(hog, NULL);
  if (!died_of(status, SIGKILL)) ktap_diag("hog status %#x", status);
  ktap_result(CHECK(died_of(status, SIGKILL)), "memory_hog_is_killed");

  /* The survivor can still allocate and fork. */
  char* p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int ok = CHECK(p != MAP_FAILED);
  if (ok) {
    memset(p, 0x5a, 4 << 20);
    ok &= CHECK(p[(4 << 20) - 1] == 0x5a) && CHECK(munmap(p, 4 << 20) == 0);
  }
  ktap_result(ok, "survivor_allocates_after_oom");

  pid_t pid = fork();
  if (pid == 0) _exit(7);
  ok = CHECK(pid > 0) && CHECK(waitpid(pid, &status, 0) == pid) && CHECK(exited_with(status, 7));
  ktap_result(ok, "survivor_forks_after_oom");
  return ktap_end();
}
