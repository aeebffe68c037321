// Zone watermarks and lowmem_reserve (Linux mm/page_alloc.c:
// calculate_min_free_kbytes, __setup_per_zone_wmarks,
// setup_per_zone_lowmem_reserve).
//
//   min_free_kbytes = sqrt(lowmem_kbytes * 16), clamped to [128, 262144]
//   per zone: min = pages_min * managed / total_managed,
//             low = min * 5/4, high = min * 3/2
//   lowmem_reserve[j] of zone i (j > i) = managed pages of the node's
//             zones i+1..j / ratio[i]; ratio 256 for DMA and DMA32
//             (sysctl_lowmem_reserve_ratio), protecting low zones from
//             requests that could have used a higher zone.
#pragma once

#include <cstdint>

namespace k {

uint64_t min_free_kbytes();
// Like writing /proc/sys/vm/min_free_kbytes: recomputes every zone's
// watermarks from the given value.
void set_min_free_kbytes(uint64_t kbytes);

}  // namespace k
