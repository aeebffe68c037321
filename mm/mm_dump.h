// Introspection dumps in the shape of Linux's /proc files, printed with
// pr_info (at boot with mm.debug, later from the UART shell).
#pragma once

namespace k {

// /proc/buddyinfo: "Node 0, zone    DMA32     3      2 ..." (free blocks per order).
void show_buddyinfo();
// /proc/zoneinfo: per zone free pages, watermarks, spans, protection,
// pagesets.
void show_zoneinfo();
// /proc/meminfo: MemTotal, MemFree, MemAvailable.
void show_meminfo();
// Linux show_free_areas() (the allocation-failure report): per zone free,
// watermarks, lowmem_reserve and free blocks by size.
void show_free_areas();

}  // namespace k
