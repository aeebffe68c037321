/* A large sparse anonymous mapping: only touched pages become resident, so
 * VmRSS grows by exactly the touched pages and VmSize by the whole length
 * (issue 6 "Demand paging"; /proc/<pid>/status fields as in Linux). */
#include <sys/mman.h>

#include "ktap.h"

#define PAGE 4096UL
#define LEN (1UL << 30) /* 1 GiB: far more than the RAM a touch pattern needs */

static const unsigned long touched[] = {0, 1, 2, 100, 4095, 65536, 131071, 200000, 262143};
#define NTOUCH (sizeof touched / sizeof touched[0])

int main(void) {
  ktap_begin("mmap_sparse", 5);
  long rss0 = proc_status_kb("VmRSS");
  long size0 = proc_status_kb("VmSize");
  char* p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (!ktap_result(CHECK(p != MAP_FAILED), "mmap_1GiB_sparse")) return ktap_end();
  long size1 = proc_status_kb("VmSize");
  long rss1 = proc_status_kb("VmRSS");
  for (unsigned i = 0; i < NTOUCH; ++i) p[touched[i] * PAGE + 7] = (char)(i + 1);
  long rss2 = proc_status_kb("VmRSS");
  ktap_diag("VmRSS %ld -> %ld -> %ld kB, VmSize %ld -> %ld kB", rss0, rss1, rss2, size0, size1);
  ktap_result(CHECK(rss0 > 0 && size1 - size0 == (long)(LEN / 1024)), "vmsize_grows_by_length");
  ktap_result(CHECK(rss1 == rss0 && rss2 - rss1 == (long)(NTOUCH * PAGE / 1024)),
              "rss_grows_by_touched_pages_only");
  int ok = 1;
  for (unsigned i = 0; i < NTOUCH; ++i) ok &= CHECK(p[touched[i] * PAGE + 7] == (char)(i + 1));
  ok &= CHECK(p[3 * PAGE] == 0 && p[LEN - 1 - PAGE] == 0);
  ktap_result(ok, "touched_pages_keep_data_untouched_read_zero");
  ok = CHECK(munmap(p, LEN) == 0);
  long rss3 = proc_status_kb("VmRSS");
  long size3 = proc_status_kb("VmSize");
  ktap_diag("after munmap: VmRSS %ld kB, VmSize %ld kB", rss3, size3);
  ktap_result(ok && CHECK(rss3 == rss0 && size3 == size0), "munmap_returns_rss_and_vmsize");
  return ktap_end();
}
