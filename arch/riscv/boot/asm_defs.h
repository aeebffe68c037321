/* Constants shared by assembly and C++ (static_asserted in smp.cpp). */
#pragma once

#define BOOT_STACK_SIZE 16384

/* Offsets in struct SecondaryBoot (arch/riscv/kernel/smp.h). */
#define SECONDARY_SATP 0
#define SECONDARY_VA_PA 8
#define SECONDARY_SP 16
#define SECONDARY_TP 24
