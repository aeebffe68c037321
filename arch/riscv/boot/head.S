/*
 * Kernel entry: the Linux RISC-V Image header, then the boot hart's path
 * from the firmware's hand-over to C++ at the kernel's virtual address.
 *
 * Boot contract (Documentation/riscv/boot.rst; FACTS.md): S-mode, a0 =
 * hartid, a1 = DTB physical address, satp = 0, interrupts off. Until the
 * MMU is on we run at the load address, so everything here and in
 * early_setup() is PC-relative (medany, no absolute pointers).
 */
#include "arch/riscv/boot/asm_defs.h"

  .section .head.text, "ax"
  .option push
  .option norvc
  .globl _start_image
_start_image:
  /* Image header, Documentation/riscv/boot-image-header.rst. */
  j     _start_kernel          /* code0: a 4-byte jump */
  .word 0                      /* code1 */
  .balign 8
  .dword 0x200000              /* text_offset: load 2 MiB above RAM base */
  .dword __image_size          /* image_size, including BSS */
  .dword 0                     /* flags: little-endian kernel */
  .word 0x2                    /* version 0.2 */
  .word 0                      /* res1 */
  .dword 0                     /* res2 */
  .ascii "RISCV\0\0\0"         /* magic (deprecated) */
  .ascii "RSC\x05"             /* magic2 */
  .word 0                      /* res3 (PE header offset; no EFI) */
  .option pop

  .text
_start_kernel:
  csrw  sie, zero
  csrw  sip, zero
  /*
   * Lottery: firmware without HSM may release every hart here. The first
   * one wins; the others park (they are started later through SBI HSM
   * when the firmware has it).
   */
  lla   t0, boot_lottery
  li    t1, 1
  amoadd.w t1, t1, (t0)
  bnez  t1, .Lpark

  mv    s0, a0                 /* hartid */
  mv    s1, a1                 /* DTB physical address */

  /* Zero BSS (physical addresses: PC-relative from here). */
  lla   t0, __bss_start
  lla   t1, __bss_end
1:
  bgeu  t0, t1, 2f
  sd    zero, 0(t0)
  addi  t0, t0, 8
  j     1b
2:
  lla   sp, boot_stack_top
  mv    a0, s0
  mv    a1, s1
  lla   a2, _start_image
  call  early_setup            /* returns the satp value; never 0 */

  /* Turn the MMU on; continue at the virtual alias of 3f. */
  lla   t0, g_va_pa_offset
  ld    t1, 0(t0)
  lla   t0, 3f
  add   t0, t0, t1
  csrw  stvec, t0
  sfence.vma
  csrw  satp, a0
  /*
   * The next fetch uses a physical PC that is unmapped now: it faults and
   * the trap lands at stvec, the virtual address of 3f.
   */
  .balign 4
3:
  lla   t0, early_trap_entry
  csrw  stvec, t0
  lla   sp, boot_stack_top     /* same stack, virtual alias */
  /* Until percpu_init(), the boot hart uses the template's CpuBlock. */
  lla   tp, __percpu_start
  csrw  sscratch, zero
  mv    a0, s0
  mv    a1, s1
  call  kernel_main
  /* kernel_main does not return. */
  j     .Lpark

.Lpark:
  wfi
  j     .Lpark

/*
 * Secondary harts, started through SBI HSM hart_start(hartid,
 * secondary_entry, opaque): a0 = hartid, a1 = opaque = physical address of
 * g_secondary_boot, satp = 0 (SBI spec v1.0, 9.1).
 */
  .globl secondary_entry
  .balign 4
secondary_entry:
  csrw  sie, zero
  csrw  sip, zero
  mv    s0, a0
  ld    t2, SECONDARY_SATP(a1)
  ld    t1, SECONDARY_VA_PA(a1)
  lla   t0, 4f
  add   t0, t0, t1
  csrw  stvec, t0
  sfence.vma
  csrw  satp, t2
  .balign 4
4:
  lla   t0, early_trap_entry
  csrw  stvec, t0
  lla   t0, g_secondary_boot
  ld    sp, SECONDARY_SP(t0)
  ld    tp, SECONDARY_TP(t0)
  csrw  sscratch, zero
  mv    a0, s0
  call  secondary_main
  j     .Lpark

/* A trap before the real handler is installed: report through SBI, stop. */
  .balign 4
early_trap_entry:
  csrr  a0, scause
  csrr  a1, sepc
  csrr  a2, stval
  call  early_trap_report
  j     .Lpark

  .section .data
  .balign 4
boot_lottery:
  .word 0

  .section .bss
  .balign 16
boot_stack:
  .space BOOT_STACK_SIZE
  .globl boot_stack_top
boot_stack_top:
