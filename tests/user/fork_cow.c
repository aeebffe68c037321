/* fork() copy-on-write isolation: parent and child share pages until one
 * writes; then each sees only its own writes, for anonymous mappings, the
 * data segment (file-backed private) and the malloc heap, including pages
 * made read-only with mprotect before the fork. */
#include <sys/mman.h>

#include "ktap.h"

#define PAGE 4096UL

static int g_data = 1;            /* .data: file-backed private */
static char g_bss[3 * 4096];      /* .bss: anonymous zero-fill */

static void sync_write(int fd) { char c = 1; if (write(fd, &c, 1) != 1) _exit(90); }
static void sync_read(int fd) { char c; if (read(fd, &c, 1) != 1) _exit(91); }

int main(void) {
  ktap_begin("fork_cow", 4);
  char* anon = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int* heap = malloc(64 * 1024);
  if (!CHECK(anon != MAP_FAILED && heap)) return ktap_end();
  memset(anon, 1, 4 * PAGE);
  heap[0] = heap[16383] = 1;
  g_bss[0] = g_bss[sizeof g_bss - 1] = 1;

  int to_child[2], to_parent[2];
  if (!CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0)) return ktap_end();
  pid_t pid = fork();
  if (pid == 0) {
    /* Child: sees the parent's values, writes its own, and keeps them
     * after the parent wrote too. Exit code = first failed step. */
    if (anon[0] != 1 || anon[4 * PAGE - 1] != 1 || g_data != 1 || heap[0] != 1 || g_bss[0] != 1) _exit(1);
    memset(anon, 2, 2 * PAGE); /* half the pages only */
    g_data = 2;
    heap[0] = 2;
    g_bss[0] = 2;
    sync_write(to_parent[1]);
    sync_read(to_child[0]);
    if (anon[0] != 2 || anon[2 * PAGE] != 1 || anon[3 * PAGE] != 1) _exit(2);
    if (g_data != 2 || heap[0] != 2 || heap[16383] != 1 || g_bss[0] != 2) _exit(3);
    _exit(0);
  }
  if (!CHECK(pid > 0)) return ktap_end();
  sync_read(to_parent[0]);
  int ok = CHECK(anon[0] == 1 && g_data == 1 && heap[0] == 1 && g_bss[0] == 1);
  ktap_result(ok, "child_writes_invisible_to_parent");
  memset(anon, 3, 4 * PAGE);
  g_data = 3;
  heap[0] = heap[16383] = 3;
  g_bss[0] = 3;
  sync_write(to_child[1]);
  int status;
  ok = CHECK(waitpid(pid, &status, 0) == pid) && CHECK(exited_with(status, 0));
  if (!ok) ktap_diag("child status %#x", status);
  ok &= CHECK(anon[0] == 3 && anon[2 * PAGE] == 3 && g_data == 3 && heap[0] == 3 && g_bss[0] == 3);
  ktap_result(ok, "parent_writes_invisible_to_child");

  /* mprotect in between: read-only before the fork, made writable again on
   * each side independently. */
  ok = CHECK(mprotect(anon, 4 * PAGE, PROT_READ) == 0);
  pid = fork();
  if (pid == 0) {
    if (anon[PAGE] != 3) _exit(1);
    if (mprotect(anon, 4 * PAGE, PROT_READ | PROT_WRITE) != 0) _exit(2);
    anon[PAGE] = 5;
    sync_write(to_parent[1]);
    sync_read(to_child[0]);
    _exit(anon[PAGE] == 5 ? 0 : 3);
  }
  sync_read(to_parent[0]);
  ok &= CHECK(anon[PAGE] == 3);
  ok &= CHECK(mprotect(anon, 4 * PAGE, PROT_READ | PROT_WRITE) == 0);
  anon[PAGE] = 6;
  sync_write(to_child[1]);
  ok &= CHECK(waitpid(pid, &status, 0) == pid) && CHECK(exited_with(status, 0));
  ok &= CHECK(anon[PAGE] == 6);
  ktap_result(ok, "cow_with_mprotect_in_between");

  /* A read-only page stays read-only in the child after fork. */
  ok = CHECK(mprotect(anon, PAGE, PROT_READ) == 0);
  pid = fork();
  if (pid == 0) {
    anon[0] = 7; /* must fault */
    _exit(0);
  }
  ok &= CHECK(waitpid(pid, &status, 0) == pid) && CHECK(died_of(status, SIGSEGV));
  ok &= CHECK(anon[0] == 3);
  ok &= CHECK(munmap(anon, 4 * PAGE) == 0);
  free(heap);
  ktap_result(ok, "read_only_stays_read_only_in_child");
  return ktap_end();
}
