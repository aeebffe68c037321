// ioremap / iounmap: MMIO in the vmalloc range (Linux asm-generic/io.h).
//
// The mapping uses the device-memory attribute of this platform
// (arch::pgprot_io(): Svpbmt IO when the hart has Svpbmt, plain PMA-typed
// otherwise) and is followed by an unmapped guard page. phys and size need
// not be page-aligned: whole pages are mapped and the returned pointer
// keeps phys's offset in its page. Regions of 2 MiB or more use 2 MiB
// leaves where alignment allows.
//
// Everything probed after vmalloc_init() uses these; the boot console and
// power-off device, mapped before the page allocator exists, keep their
// permanent arch::ioremap_boot() mappings.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/types.h"

namespace k {

// nullptr (after pr_err) for size 0, an address range that wraps, no
// virtual space or no page-table pages.
void* ioremap(PhysAddr phys, size_t size);
// Accepts any address inside the first page ioremap returned; anything
// else is reported and ignored. nullptr is ignored.
void iounmap(volatile void* addr);

}  // namespace k
