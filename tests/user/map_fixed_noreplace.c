/* MAP_FIXED_NOREPLACE (Linux 4.17): EEXIST for any overlap with an existing
 * mapping, which stays intact; success next to it; EINVAL when unaligned. */
#include <sys/mman.h>

#include "ktap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define PAGE 4096UL

struct Case {
  const char* name;
  long first_page; /* relative to the 5-page mapping at page 0 */
  long pages;
  int expect_errno; /* 0 = success */
};

static const struct Case cases[] = {
    {"same_range_eexist", 0, 5, EEXIST},
    {"overlaps_start_eexist", -2, 3, EEXIST},
    {"overlaps_end_eexist", 4, 2, EEXIST},
    {"inside_eexist", 1, 2, EEXIST},
    {"one_page_inside_eexist", 2, 1, EEXIST},
    {"contains_eexist", -2, 9, EEXIST},
    {"adjacent_below_ok", -2, 2, 0},
    {"adjacent_above_ok", 5, 2, 0},
    {"far_above_ok", 9, 1, 0},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

int main(void) {
  ktap_begin("map_fixed_noreplace", NCASES + 5);
  /* Reserve a window, then free it: the 5 pages go in its middle. */
  char* win = mmap(NULL, 32 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (win == MAP_FAILED || munmap(win, 32 * PAGE) != 0) return ktap_end();
  char* base = win + 8 * PAGE;
  char* p = mmap(base, 5 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  int ok = CHECK(p == base);
  if (ok)
    for (int i = 0; i < 5; ++i) p[i * PAGE] = (char)(0x40 + i);
  ktap_result(ok, "noreplace_into_free_range");
  if (!ok) return ktap_end();

  for (int i = 0; i < NCASES; ++i) {
    const struct Case* c = &cases[i];
    char* want = base + c->first_page * (long)PAGE;
    errno = 0;
    char* q = mmap(want, c->pages * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (c->expect_errno) {
      ok = CHECK(q == MAP_FAILED) && CHECK(errno == c->expect_errno);
      if (q != MAP_FAILED) munmap(q, c->pages * PAGE);
    } else {
      ok = CHECK(q == want);
      if (q != MAP_FAILED) ok &= CHECK(munmap(q, c->pages * PAGE) == 0);
    }
    ktap_result(ok, c->name);
  }

  ok = 1;
  for (int i = 0; i < 5; ++i) ok &= CHECK(p[i * PAGE] == (char)(0x40 + i));
  ktap_result(ok, "existing_mapping_untouched");

  errno = 0;
  char* q = mmap(base + 5 * PAGE + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  ktap_result(CHECK(q == MAP_FAILED && errno == EINVAL), "unaligned_address_einval");

  /* Plain MAP_FIXED replaces: the old contents are gone. */
  q = mmap(base + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ok = CHECK(q == base + PAGE) && CHECK(q[0] == 0) && CHECK(p[0] == 0x40 && p[2 * PAGE] == 0x42);
  ktap_result(ok, "map_fixed_replaces");
  ok = CHECK(munmap(base, 5 * PAGE) == 0);
  ktap_result(ok, "munmap_all");
  return ktap_end();
}
