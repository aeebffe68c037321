// /proc/meminfo and the free-page snapshot that leak checks compare.
#pragma once

#include <cstddef>
#include <cstdint>

namespace k {

// Free pages once every CPU's page lists are drained and every slab cache
// has returned its cached empty slabs: the number the "nothing lost"
// checks compare before and after a workload (user suite, sysfuzz, soak).
uint64_t free_pages_quiesced();

// /proc/meminfo text (Linux fs/proc/meminfo.c field names, kB) in a
// kmalloc'd buffer; nullptr without memory. MemFree is
// free_pages_quiesced(), so a user program can check that a workload gave
// back every page (tests/user/sysfuzz.c).
char* proc_meminfo_text(size_t* len);

}  // namespace k
