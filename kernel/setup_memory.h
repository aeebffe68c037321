// Boot-time memory bring-up glue between the DT, memblock and the page
// allocator (mm/).
#pragma once

#include "lib/fdt.h"

namespace k {

// Describes RAM and every reservation to memblock and prints the map.
void setup_memory(const fdt::Fdt& fdt);
// Hands memblock's free memory to the buddy allocator.
void setup_page_allocator();
// After boot: unmaps .init.text/.init.data from the image and gives their
// pages to the page allocator. No __init code may run afterwards.
void free_init_sections();

}  // namespace k
