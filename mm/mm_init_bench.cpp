// Boot memory-initialisation cost (issue 8, item 2): instructions from the
// entry of kernel_main to "buddy ready" (every page handed to the buddy
// allocator), and of the page-allocator set-up alone (struct page
// initialisation, zones, hand-over: the part that grows with RAM). The
// marks are read in kernel/main.cpp (bench::g_boot_marks); bench/run.py
// boots 512 MiB .. 32 GiB and plots instructions per 4 KiB page.
//
// Target (issue 8): <= 16 instructions per page (a 64-byte struct page is
// 8 stores).
#include "kernel/bench.h"
#include "mm/zone.h"

using namespace k;

BENCH(boot_mm_init) {
  const bench::BootMarks& m = bench::g_boot_marks;
  if (!m.entry || !m.page_alloc_start || m.buddy_ready < m.page_alloc_start)
    return b.fail("boot marks not recorded (kernel/main.cpp)");
  uint64_t pages = 0;
  for_each_populated_zone([&](Zone& z) { pages += z.present_pages; });
  if (!pages) return b.fail("no populated zone");
  // The marks are raw counter values (kernel/main.cpp cannot know the
  // icount shift); scale them like Context::now().
  const uint64_t total = (m.buddy_ready - m.entry) >> bench::Context::shift();
  const uint64_t alloc = (m.buddy_ready - m.page_alloc_start) >> bench::Context::shift();
  b.report_value("boot_mm_init", total * 10, "instr, %llu pages, %llu.%llu per page",
                 static_cast<unsigned long long>(pages),
                 static_cast<unsigned long long>(total / pages),
                 static_cast<unsigned long long>(total * 10 / pages % 10));
  b.report_value("boot_page_alloc_init", alloc * 10, "instr, %llu pages, %llu.%llu per page",
                 static_cast<unsigned long long>(pages),
                 static_cast<unsigned long long>(alloc / pages),
                 static_cast<unsigned long long>(alloc * 10 / pages % 10));
}
