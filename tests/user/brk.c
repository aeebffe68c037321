/* brk(2) grow and shrink with Linux semantics: the raw syscall returns the
 * new break on success and the old one on failure; shrunk pages are gone
 * (a later access faults) and come back zero-filled when regrown. */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "ktap.h"

#define PAGE 4096UL
#define GROW (64 * PAGE)

static unsigned long sys_brk(unsigned long addr) { return (unsigned long)syscall(SYS_brk, addr); }

static void touch(void* addr) { *(volatile char*)addr = 1; }

int main(void) {
  ktap_begin("brk", 6);
  unsigned long cur = sys_brk(0);
  long rss0 = proc_status_kb("VmRSS");
  unsigned long top = (cur + PAGE - 1) & ~(PAGE - 1);
  unsigned long got = sys_brk(top + GROW);
  int ok = CHECK(cur != 0) && CHECK(got == top + GROW);
  if (ok) {
    memset((void*)top, 0xa5, GROW);
    for (unsigned long i = 0; i < GROW; i += PAGE) ok &= CHECK(((unsigned char*)top)[i] == 0xa5);
  }
  ktap_result(ok, "brk_grows_and_memory_is_usable");
  long rss1 = proc_status_kb("VmRSS");
  ktap_diag("brk %#lx -> %#lx; VmRSS %ld -> %ld kB", cur, got, rss0, rss1);
  ktap_result(CHECK(rss1 - rss0 == (long)(GROW / 1024)), "rss_counts_heap_pages");

  got = sys_brk(top);
  ok = CHECK(got == top);
  long rss2 = proc_status_kb("VmRSS");
  ok &= CHECK(rss2 == rss0);
  ktap_result(ok, "brk_shrinks_and_frees_pages");

  int status = run_in_child(touch, (void*)(top + PAGE));
  ktap_result(CHECK(died_of(status, SIGSEGV)), "access_above_shrunk_break_faults");

  got = sys_brk(top + GROW);
  ok = CHECK(got == top + GROW);
  for (unsigned long i = 0; ok && i < GROW; i += 512) ok &= CHECK(((unsigned char*)top)[i] == 0);
  sys_brk(top);
  ktap_result(ok, "regrown_heap_is_zero_filled");

  /* Far beyond any TASK_SIZE (Sv39 256 GiB, Sv48 128 TiB) and below the
   * start: both leave the break where it is. */
  ok = CHECK(sys_brk(top + (1UL << 47)) == top);
  ok &= CHECK(sys_brk(4096) == top);
  ok &= CHECK(sys_brk(0) == top);
  ktap_result(ok, "impossible_brk_leaves_break_unchanged");
  return ktap_end();
}
