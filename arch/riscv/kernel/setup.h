// Boot-time reports and setup steps of the RISC-V arch layer.
#pragma once

#include <cstdint>

#include "lib/fdt.h"

namespace arch {

// Prints the SBI implementation, spec version and the extensions it has.
void report_sbi();
// Prints the paging mode chosen in early boot and the virtual layout.
void report_paging();
// Reads timebase-frequency and the boot hart's ISA (Sstc) from the DT.
void setup_timebase(const k::fdt::Fdt& fdt, uint64_t boot_hartid);
void enable_ipis_this_hart();

// Platform power-off hook (e.g. the sifive,test0 syscon on QEMU virt);
// SBI SRST is the fallback.
using PowerOffHandler = void (*)(bool failure);
void set_power_off_handler(PowerOffHandler h);

// ISA extensions of the boot hart, from riscv,isa (e.g. "_svpbmt").
bool has_isa_extension(const char* name);

}  // namespace arch
