/* The stack grows down on demand up to RLIMIT_STACK, but never to within
 * the guard gap (256 pages, Linux stack_guard_gap after Stack Clash,
 * CVE-2017-1000364) of the mapping below it. */
#include <sys/mman.h>

#include "ktap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define PAGE 4096UL
#define GAP_PAGES 256UL

static unsigned long depth_sum(unsigned n) {
  volatile char frame[4096];
  frame[0] = (char)n;
  frame[4095] = (char)n;
  if (n == 0) return frame[0];
  return depth_sum(n - 1) + (unsigned char)frame[4095];
}

static unsigned long stack_page(void) {
  volatile char here;
  return (unsigned long)&here & ~(PAGE - 1);
}

/* Writes one byte at the given stack address far below the current frame. */
static void poke(void* addr) { *(volatile char*)addr = 1; }

int main(void) {
  ktap_begin("stack_growth", 5);
  /* 512 frames of >= 4 KiB: 2 MiB, far past the initial stack pages. */
  unsigned long sum = depth_sum(512), want = 0;
  for (unsigned n = 1; n <= 512; ++n) want += n & 0xff;
  ktap_result(CHECK(sum == want), "recursion_grows_stack_2MiB");

  struct rlimit rl;
  int ok = CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
  ktap_diag("RLIMIT_STACK cur %#lx", (unsigned long)rl.rlim_cur);

  /* A mapping 8 MiB below the current stack page. */
  unsigned long sp = stack_page();
  char* below = (char*)(sp - 8 * 1024 * 1024UL);
  char* m = mmap(below, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  ok &= CHECK(m == below);
  ktap_result(ok, "map_a_page_below_the_stack");
  if (!ok) {
    ktap_skip("growth_outside_guard_gap_ok", "no mapping below the stack");
    ktap_skip("growth_into_guard_gap_sigsegv", "no mapping below the stack");
    ktap_skip("growth_past_rlimit_sigsegv", "no mapping below the stack");
    return ktap_end();
  }
  char* gap_end = m + PAGE + GAP_PAGES * PAGE; /* lowest address the stack may reach */

  /* Growing down to just above the gap works (in a child: the stack VMA
   * stays small in the parent). Needs RLIMIT_STACK >= 8 MiB. */
  int status = run_in_child(poke, gap_end + 16);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)(sp + PAGE - (unsigned long)gap_end) + 2 * 1024 * 1024)
    ktap_skip("growth_outside_guard_gap_ok", "RLIMIT_STACK below 8 MiB");
  else
    ktap_result(CHECK(exited_with(status, 0)), "growth_outside_guard_gap_ok");

  status = run_in_child(poke, gap_end - 16 * PAGE);
  ktap_result(CHECK(died_of(status, SIGSEGV)), "growth_into_guard_gap_sigsegv");

  /* Past RLIMIT_STACK with no mapping in the way. */
  munmap(m, PAGE);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 256 * 1024 * 1024UL) {
    ktap_skip("growth_past_rlimit_sigsegv", "RLIMIT_STACK unlimited or huge");
  } else {
    status = run_in_child(poke, (char*)sp - rl.rlim_cur - 64 * PAGE);
    ktap_result(CHECK(died_of(status, SIGSEGV)), "growth_past_rlimit_sigsegv");
  }
  return ktap_end();
}
