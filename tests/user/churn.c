/* Soak workload (issue 9 item 7): for a given time, process and memory
 * churn whose every result is checked:
 *
 *   fork + execve + exit   a child execs this program in "exit" mode and
 *                          exits with a code the parent checks
 *   fork + copy-on-write   a child dirties the parent's buffer; the parent
 *                          still sees its own bytes
 *   mmap churn             map, demand-fault every page, check, split with
 *                          munmap/mprotect, grow with mremap, unmap
 *   brk churn              grow, fault in, check, shrink
 *
 *   churn [-t seconds] [-s seed]
 *
 * Quiet: one summary line at the end ("churn: ..."), a diagnostic and exit
 * status 1 at the first wrong result. The kernel's soak (kernel/soak.cpp)
 * runs one per hart next to sysfuzz and its own kernel-thread churn. */
#define _GNU_SOURCE /* mremap */
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "ktap.h"

#define PAGE 4096UL

static uint64_t rng;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char* self_path;
static char cow_buf[16 * PAGE];

#define FAIL(...)                                                      \
  do {                                                                 \
    dprintf(1, "churn: FAILED at %s:%d: ", __FILE__, __LINE__);        \
    dprintf(1, __VA_ARGS__);                                           \
    dprintf(1, " (errno %d)\n", errno);                                \
    exit(1);                                                           \
  } while (0)

static void fork_exec_exit(void) {
  const int code = (int)(rnd() % 100) + 1;
  pid_t pid = fork();
  if (pid < 0) FAIL("fork");
  if (pid == 0) {
    char arg[16];
    snprintf(arg, sizeof arg, "%d", code);
    char* argv[] = {(char*)self_path, "exit", arg, NULL};
    char* envp[] = {NULL};
    execve(self_path, argv, envp);
    _exit(255);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) FAIL("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
    FAIL("exec child status %#x, wanted exit %d", status, code);
}

static void fork_cow(void) {
  const char mine = (char)(rnd() | 1);
  for (size_t i = 0; i < sizeof cow_buf; i += PAGE) cow_buf[i] = mine;
  pid_t pid = fork();
  if (pid < 0) FAIL("fork");
  if (pid == 0) {
    for (size_t i = 0; i < sizeof cow_buf; i += PAGE) {
      if (cow_buf[i] != mine) _exit(2);
      cow_buf[i] = (char)~mine;
    }
    _exit(0);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !exited_with(status, 0)) FAIL("cow child %#x", status);
  for (size_t i = 0; i < sizeof cow_buf; i += PAGE)
    if (cow_buf[i] != mine) FAIL("parent page %zu changed by the child's write", i / PAGE);
}

static void fill(char* p, size_t pages, uint64_t tag) {
  for (size_t i = 0; i < pages; ++i) *(uint64_t*)(p + i * PAGE) = tag ^ i;
}
static int check(const char* p, size_t pages, uint64_t tag) {
  for (size_t i = 0; i < pages; ++i)
    if (*(const uint64_t*)(p + i * PAGE) != (tag ^ i)) return 0;
  return 1;
}

static void mmap_churn(void) {
  const size_t pages = 1 + rnd() % 256;
  const uint64_t tag = rnd();
  char* p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) FAIL("mmap %zu pages", pages);
  fill(p, pages, tag);
  if (!check(p, pages, tag)) FAIL("mmap content");
  if (pages >= 4) {
    /* Split: read-only middle, unmapped hole, the rest still intact. */
    const size_t mid = pages / 2;
    if (mprotect(p + mid * PAGE, PAGE, PROT_READ) != 0) FAIL("mprotect");
    if (munmap(p + (mid + 1) * PAGE, PAGE) != 0) FAIL("munmap hole");
    if (!check(p, mid + 1, tag)) FAIL("content after split");
    if (munmap(p, pages * PAGE) != 0) FAIL("munmap split");
    return;
  }
  char* q = mremap(p, pages * PAGE, pages * 4 * PAGE, MREMAP_MAYMOVE);
  if (q == MAP_FAILED) FAIL("mremap");
  if (!check(q, pages, tag)) FAIL("content after mremap");
  fill(q, pages * 4, tag);
  if (madvise(q, pages * PAGE, MADV_DONTNEED) != 0) FAIL("madvise");
  if (*(volatile uint64_t*)q != 0) FAIL("DONTNEED page not zero");
  if (munmap(q, pages * 4 * PAGE) != 0) FAIL("munmap");
}

static void brk_churn(void) {
  char* base = sbrk(0);
  const size_t pages = 1 + rnd() % 64;
  const uint64_t tag = rnd();
  if (sbrk((intptr_t)(pages * PAGE)) == (void*)-1) FAIL("sbrk +%zu pages", pages);
  char* p = (char*)(((uintptr_t)base + PAGE - 1) & ~(PAGE - 1));
  const size_t whole = (size_t)(base + pages * PAGE - p) / PAGE;
  fill(p, whole, tag);
  if (!check(p, whole, tag)) FAIL("brk content");
  if (sbrk(-(intptr_t)(pages * PAGE)) == (void*)-1) FAIL("sbrk shrink");
}

int main(int argc, char** argv) {
  if (argc == 3 && !strcmp(argv[1], "exit")) return atoi(argv[2]);
  self_path = argv[0];
  long seconds = 10;
  uint64_t seed = now_ns();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-t")) seconds = atol(argv[i + 1]);
    if (!strcmp(argv[i], "-s")) seed = strtoull(argv[i + 1], NULL, 0);
  }
  rng = seed | 1;
  const uint64_t end = now_ns() + (uint64_t)seconds * 1000000000ull;
  long n_exec = 0, n_cow = 0, n_mmap = 0, n_brk = 0;
  while (now_ns() < end) {
    switch (rnd() % 8) {
      case 0:
        fork_exec_exit();
        ++n_exec;
        break;
      case 1:
        fork_cow();
        ++n_cow;
        break;
      case 2:
        brk_churn();
        ++n_brk;
        break;
      default:
        mmap_churn();
        ++n_mmap;
        break;
    }
  }
  dprintf(1, "churn: %ld ops in %ld s: fork+exec+exit %ld, fork+cow %ld, mmap %ld, brk %ld (seed %#llx)\n",
          n_exec + n_cow + n_mmap + n_brk, seconds, n_exec, n_cow, n_mmap, n_brk,
          (unsigned long long)seed);
  return 0;
}
