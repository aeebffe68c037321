// Shell view of the boot memory map.
#include "kernel/shell.h"
#include "mm/memblock.h"

SHELL_COMMAND(iomem, "physical memory map (/proc/iomem style)") {
  k::memblock.dump();
  return 0;
}
