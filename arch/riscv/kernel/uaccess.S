/*
 * User memory copies with exception fixups (issue 6 item 8). sstatus.SUM
 * (Privileged spec 4.1.1.2) is set only between the first and last
 * instruction of these routines; trap entry clears it, so a fault here
 * resumes at the fixup (arch/riscv/kernel/trap.cpp fixup_exception) with
 * SUM off, and the fixup returns what is left. Every instruction that
 * touches user memory is listed in __ex_table.
 */
#define SR_SUM (1 << 18)
#define SR_SIE (1 << 1)

/*
 * Interrupts are masked while SUM is set: trap entry (entry.S) clears SUM
 * before it saves sstatus, so an interrupt taken inside a SUM window
 * would return with SUM off and turn the next user access into a false
 * EFAULT. t5 holds the caller's SIE across the routine (and across a
 * faulting access, whose fixup restores it).
 */
.macro uaccess_begin
  csrrci t5, sstatus, SR_SIE
  li    t6, SR_SUM
  csrs  sstatus, t6
.endm
.macro uaccess_end
  li    t6, SR_SUM
  csrc  sstatus, t6
  andi  t5, t5, SR_SIE
  csrs  sstatus, t5
.endm

  .text
/*
 * size_t __arch_copy_user(void* dst, const void* src, size_t n)
 * Copies n bytes; returns the number of bytes NOT copied (0 on success).
 * Either side may be the user one.
 */
  .globl __arch_uaccess_start
  .globl __arch_copy_user
  .balign 4
__arch_uaccess_start:
__arch_copy_user:
  uaccess_begin
  or    t0, a0, a1
  andi  t0, t0, 7
  bnez  t0, 2f
  li    t1, 8
1:
  bltu  a2, t1, 2f
.Lcu_ld8:
  ld    t2, 0(a1)
.Lcu_st8:
  sd    t2, 0(a0)
  addi  a0, a0, 8
  addi  a1, a1, 8
  addi  a2, a2, -8
  j     1b
2:
  beqz  a2, 3f
.Lcu_ld1:
  lbu   t2, 0(a1)
.Lcu_st1:
  sb    t2, 0(a0)
  addi  a0, a0, 1
  addi  a1, a1, 1
  addi  a2, a2, -1
  j     2b
3:
  uaccess_end
  mv    a0, a2
  ret
.Lcu_fault:
  uaccess_end
  mv    a0, a2
  ret

/*
 * long __arch_strncpy_user(char* dst, const char* user_src, size_t n)
 * Copies up to n bytes, stopping after a NUL; returns the length without
 * the NUL (n if none was found), or -1 if reading faulted.
 */
  .globl __arch_strncpy_user
  .balign 4
__arch_strncpy_user:
  uaccess_begin
  li    t3, 0
1:
  beq   t3, a2, 2f
.Lsn_ld:
  lbu   t2, 0(a1)
  sb    t2, 0(a0)
  beqz  t2, 2f
  addi  a0, a0, 1
  addi  a1, a1, 1
  addi  t3, t3, 1
  j     1b
2:
  uaccess_end
  mv    a0, t3
  ret
.Lsn_fault:
  uaccess_end
  li    a0, -1
  ret

/*
 * size_t __arch_clear_user(void* user_dst, size_t n): zero-fills; returns
 * the bytes NOT cleared.
 */
  .globl __arch_clear_user
  .balign 4
__arch_clear_user:
  uaccess_begin
1:
  beqz  a1, 2f
.Lcl_st:
  sb    zero, 0(a0)
  addi  a0, a0, 1
  addi  a1, a1, -1
  j     1b
2:
  uaccess_end
  mv    a0, a1
  ret
.Lcl_fault:
  uaccess_end
  mv    a0, a1
  ret

  .section __ex_table, "a"
  .balign 8
  .dword .Lcu_ld8, .Lcu_fault
  .dword .Lcu_st8, .Lcu_fault
  .dword .Lcu_ld1, .Lcu_fault
  .dword .Lcu_st1, .Lcu_fault
  .dword .Lsn_ld, .Lsn_fault
  .dword .Lcl_st, .Lcl_fault

  .text
  .globl __arch_uaccess_end
__arch_uaccess_end:
