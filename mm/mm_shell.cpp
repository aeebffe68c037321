// Shell views of the page allocator, in Linux /proc shapes (mm/mm_dump.h).
#include "kernel/shell.h"
#include "mm/mm_dump.h"

SHELL_COMMAND(meminfo, "memory totals (/proc/meminfo)") {
  k::show_meminfo();
  return 0;
}

SHELL_COMMAND(buddyinfo, "free blocks per order and zone (/proc/buddyinfo)") {
  k::show_buddyinfo();
  return 0;
}

SHELL_COMMAND(zoneinfo, "zones: spans, watermarks, pcp lists (/proc/zoneinfo)") {
  k::show_zoneinfo();
  return 0;
}
