// /proc/meminfo (see kernel/proc/meminfo.h).
#include "kernel/proc/meminfo.h"

#include "lib/format.h"
#include "mm/accounting.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"
#include "mm/vmalloc.h"

namespace k {

uint64_t free_pages_quiesced() { return nr_free_pages_quiesced(); }

char* proc_meminfo_text(size_t* len) {
  constexpr size_t kSize = 256;
  auto* buf = static_cast<char*>(kmalloc(kSize, GFP_KERNEL));
  if (!buf) return nullptr;
  // The snapshot is taken after the buffer exists, so the buffer's own
  // slab page is counted the same way on every read.
  const uint64_t kb = kPageSize / 1024;
  const uint64_t free = free_pages_quiesced();
  *len = snformat(buf, kSize,
                  "MemTotal:       %8llu kB\nMemFree:        %8llu kB\n"
                  "Slab:           %8llu kB\nVmallocUsed:    %8llu kB\n",
                  static_cast<unsigned long long>(totalram_pages() * kb),
                  static_cast<unsigned long long>(free * kb),
                  static_cast<unsigned long long>(slab_nr_pages() * kb),
                  static_cast<unsigned long long>(nr_vmalloc_pages() * kb));
  return buf;
}

}  // namespace k
