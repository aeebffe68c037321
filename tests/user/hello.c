/* The first user program: glibc's static startup, stdio and exit. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(int argc, char** argv) {
  /* Plain printf through a buffered stdout on purpose: this program checks
   * that glibc's stdio (malloc'd buffer, write at exit) works. */
  printf("    KTAP version 1\n    # Subtest: hello\n    1..3\n");
  printf("    # hello, world from %s\n", argc > 0 ? argv[0] : "?");
  printf("    %s 1 argv_present\n", argc >= 1 && argv[0] && argv[argc] == NULL ? "ok" : "not ok");
  printf("    %s 2 auxv_pagesz\n", getauxval(AT_PAGESZ) == 4096 ? "ok" : "not ok");
  char buf[32];
  snprintf(buf, sizeof buf, "%d-%s-%x", 42, "x", 255u);
  printf("    %s 3 printf_formats\n", strcmp(buf, "42-x-ff") == 0 ? "ok" : "not ok");
  return (argc >= 1 && getauxval(AT_PAGESZ) == 4096 && strcmp(buf, "42-x-ff") == 0) ? 0 : 1;
}
