/* munmap of the middle of a mapping splits it: both sides keep their data,
 * the hole is free again (MAP_FIXED_NOREPLACE succeeds there) and touching
 * it faults. Linux errnos for bad arguments. */
#include <sys/mman.h>

#include "ktap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define PAGE 4096UL

static void touch(void* addr) { *(volatile char*)addr = 1; }

int main(void) {
  ktap_begin("munmap_split", 6);
  char* p = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!CHECK(p != MAP_FAILED)) return ktap_end();
  for (int i = 0; i < 5; ++i) memset(p + i * PAGE, 'a' + i, PAGE);
  int ok = CHECK(munmap(p + 2 * PAGE, PAGE) == 0);
  ktap_result(ok, "munmap_middle_page");

  ok = 1;
  for (int i = 0; i < 5; ++i) {
    if (i == 2) continue;
    ok &= CHECK(p[i * PAGE] == 'a' + i && p[i * PAGE + PAGE - 1] == 'a' + i);
  }
  ktap_result(ok, "both_sides_keep_their_data");

  int status = run_in_child(touch, p + 2 * PAGE);
  ktap_result(CHECK(died_of(status, SIGSEGV)), "hole_faults");

  char* q = mmap(p + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ok = CHECK(q == p + 2 * PAGE) && CHECK(q[0] == 0);
  if (q != MAP_FAILED) munmap(q, PAGE);
  ktap_result(ok, "hole_is_free_address_space");

  errno = 0;
  ok = CHECK(munmap(p + 1, PAGE) == -1 && errno == EINVAL);
  errno = 0;
  ok &= CHECK(munmap(p, 0) == -1 && errno == EINVAL);
  /* Unmapping a range that holds no mapping is not an error. */
  ok &= CHECK(munmap(p + 2 * PAGE, PAGE) == 0);
  ktap_result(ok, "munmap_errnos");

  ok = CHECK(munmap(p, 5 * PAGE) == 0);
  status = run_in_child(touch, p + 4 * PAGE);
  ok &= CHECK(died_of(status, SIGSEGV));
  ktap_result(ok, "munmap_across_the_hole_removes_both_halves");
  return ktap_end();
}
