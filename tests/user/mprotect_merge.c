/* mprotect RW -> R -> RW on the middle page splits the mapping into three
 * VMAs and merges them back into one. Observed through mremap: growing a
 * range in place needs it to lie in a single VMA (Linux mm/mremap.c
 * vma_to_resize(): EFAULT when old_len runs past the VMA's end). */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "ktap.h"

#define PAGE 4096UL

static void write_to(void* addr) { *(volatile char*)addr = 1; }

int main(void) {
  ktap_begin("mprotect_merge", 6);
  /* 8 pages reserved, the last 5 unmapped: the mapping can grow in place. */
  char* p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!CHECK(p != MAP_FAILED) || !CHECK(munmap(p + 3 * PAGE, 5 * PAGE) == 0)) return ktap_end();
  for (int i = 0; i < 3; ++i) p[i * PAGE] = (char)(i + 1);

  int ok = CHECK(mprotect(p + PAGE, PAGE, PROT_READ) == 0);
  ktap_result(ok, "mprotect_middle_read_only");

  int status = run_in_child(write_to, p + PAGE);
  ok = CHECK(died_of(status, SIGSEGV));
  status = run_in_child(write_to, p + 2 * PAGE);
  ok &= CHECK(exited_with(status, 0));
  ktap_result(ok, "only_the_middle_page_is_read_only");

  errno = 0;
  void* r = mremap(p, 3 * PAGE, 4 * PAGE, 0);
  ktap_result(CHECK(r == MAP_FAILED && errno == EFAULT), "split_range_is_three_vmas");

  ok = CHECK(mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
  ktap_result(ok, "mprotect_back_read_write");

  r = mremap(p, 3 * PAGE, 4 * PAGE, 0);
  ok = CHECK(r == p);
  ktap_result(ok, "merged_back_into_one_vma");

  ok = CHECK(p[0] == 1 && p[PAGE] == 2 && p[2 * PAGE] == 3 && p[3 * PAGE] == 0);
  p[PAGE] = 9;
  ok &= CHECK(p[PAGE] == 9);
  ok &= CHECK(munmap(p, r == p ? 4 * PAGE : 3 * PAGE) == 0);
  ktap_result(ok, "contents_survive_and_page_is_writable");
  return ktap_end();
}
