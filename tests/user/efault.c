/* Bad user pointers handed to the kernel give EFAULT, never a crash: the
 * kernel's copy_{from,to}_user fixups catch every kind of bad address. */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>

#include "ktap.h"

#define PAGE 4096UL

/* Each call goes to the kernel (no vDSO, no libc-side checks). */
static long try_write(void* p) { return syscall(SYS_write, 1, p, 16); }
static long try_read(int fd, void* p) { return syscall(SYS_read, fd, p, 16); }
static long try_clock(void* p) { return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p); }
static long try_uname(void* p) { return syscall(SYS_uname, p); }
static long try_getrandom(void* p) { return syscall(SYS_getrandom, p, 16, 0); }

static int is_efault(long r) { return r == -1 && errno == EFAULT; }

int main(int argc, char** argv) {
  (void)argc;
  ktap_begin("efault", 7);
  char* unmapped = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(unmapped, PAGE);
  char* none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!CHECK(none != MAP_FAILED && ro != MAP_FAILED)) return ktap_end();
  /* Kernel half of the address space (top bit set): never user memory. */
  void* kernel = (void*)~0xfffUL;
  void* kernel2 = (void*)0xffffffc000000000UL;
  void* bad[] = {NULL, (void*)1, unmapped, none, kernel, kernel2};
  const int nbad = sizeof bad / sizeof bad[0];

  int ok = 1;
  for (int i = 0; i < nbad; ++i) ok &= CHECK(is_efault(try_write(bad[i])));
  ktap_result(ok, "write_bad_source_efault");

  char path[256];
  int fd = open(root_path(argv[0], "etc/hello.txt", path, sizeof path), O_RDONLY);
  ok = CHECK(fd >= 0);
  for (int i = 0; ok && i < nbad; ++i) ok &= CHECK(is_efault(try_read(fd, bad[i])));
  ok &= CHECK(is_efault(try_read(fd, ro)));  /* read-only destination */
  ktap_result(ok, "read_bad_destination_efault");

  /* A failed read consumed nothing: the data is still there. */
  char buf[16] = {0};
  ok = CHECK(fd >= 0 && lseek(fd, 0, SEEK_CUR) == 0 && read(fd, buf, sizeof buf) > 0 && buf[0] != 0);
  ktap_result(ok, "failed_read_consumes_nothing");
  if (fd >= 0) close(fd);

  ok = 1;
  for (int i = 0; i < nbad; ++i) ok &= CHECK(is_efault(try_clock(bad[i])));
  ok &= CHECK(is_efault(try_clock(ro)));
  ktap_result(ok, "clock_gettime_bad_pointer_efault");

  ok = 1;
  for (int i = 0; i < nbad; ++i) ok &= CHECK(is_efault(try_uname(bad[i])));
  ktap_result(ok, "uname_bad_pointer_efault");

  ok = 1;
  for (int i = 0; i < nbad; ++i) ok &= CHECK(is_efault(try_getrandom(bad[i])));
  ktap_result(ok, "getrandom_bad_pointer_efault");

  /* Straddling: valid first byte, the rest unmapped. */
  char* two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ok = CHECK(two != MAP_FAILED) && CHECK(munmap(two + PAGE, PAGE) == 0);
  struct timespec* ts = (struct timespec*)(two + PAGE - 8);
  ok &= CHECK(is_efault(try_clock(ts)));
  struct timespec good;
  ok &= CHECK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &good) == 0);
  munmap(two, PAGE);
  munmap(none, PAGE);
  munmap(ro, PAGE);
  ktap_result(ok, "straddling_pointer_efault_and_kernel_alive");
  return ktap_end();
}
