// mm_accounting_quiesce() and nr_free_pages_quiesced() (mm/accounting.h): kernel only, because it
// reaches the vmalloc and per-CPU allocators, which the host build of the
// accounting core does not link.
#include "mm/accounting.h"
#include "mm/page_alloc.h"
#include "mm/percpu_alloc.h"
#include "mm/slab.h"
#include "mm/vmalloc.h"

namespace k {

void mm_accounting_quiesce() {
  vmalloc_purge();         // frees page tables of lazily freed ranges
  percpu_shrink();         // frees the spare per-CPU chunk
  slab_nr_pages_shrunk();  // frees empty slabs (vmalloc_purge may free objects)
}

uint64_t nr_free_pages_quiesced() {
  mm_accounting_quiesce();
  drain_all_pages(nullptr);
  return nr_free_pages();
}

}  // namespace k
