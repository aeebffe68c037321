/*
 * Trap entry and exit (Privileged spec 4.1). sscratch is 0 while the hart
 * runs kernel code and holds the kernel `tp` while it runs user code, so
 * one swap tells the two cases apart (the scheme Linux and managarm use).
 * Every register is saved in a TrapFrame on the kernel stack.
 */
#include "arch/riscv/kernel/asm_offsets.h"

/* A trap whose sp lies this far below the stack base counts as an
 * overflow; anything lower is some other stack (2^17 bytes). */
#define STACK_OVERFLOW_WINDOW_SHIFT 17

  .text
  .globl trap_entry
  .balign 4
trap_entry:
  csrrw tp, sscratch, tp
  bnez  tp, 1f
  /* From S-mode: sscratch now holds our tp; take it back. */
  csrr  tp, sscratch
  sd    sp, CPU_SCRATCH(tp)
  /*
   * Kernel stack overflow check (kernel/stack.h). sscratch duplicates tp
   * here, so it can park t0. If the frame would not fit above the current
   * stack's base (sp within the window below base + TF_SIZE), the stack
   * has overflowed into its guard page: save the frame on this hart's
   * overflow stack instead; trap_handler sees the frame there and reports.
   * Without bounds (early boot) or an overflow stack, carry on as before.
   */
  csrw  sscratch, t0
  ld    t0, CPU_STACK_BASE(tp)
  beqz  t0, .Lstack_ok
  addi  t0, t0, TF_SIZE
  bgeu  sp, t0, .Lstack_ok
  sub   t0, t0, sp
  srli  t0, t0, STACK_OVERFLOW_WINDOW_SHIFT
  bnez  t0, .Lstack_ok
  ld    t0, CPU_OVERFLOW_SP(tp)
  beqz  t0, .Lstack_ok
  mv    sp, t0
.Lstack_ok:
  csrr  t0, sscratch
  csrw  sscratch, tp
  j     2f
1:
  /* From U-mode: tp is the kernel per-CPU block. */
  sd    sp, CPU_SCRATCH(tp)
  ld    sp, CPU_KERNEL_SP(tp)
2:
  addi  sp, sp, -TF_SIZE
  sd    x1, TF_REG(1)(sp)
  sd    x3, TF_REG(3)(sp)
  sd    x5, TF_REG(5)(sp)
  sd    x6, TF_REG(6)(sp)
  sd    x7, TF_REG(7)(sp)
  sd    x8, TF_REG(8)(sp)
  sd    x9, TF_REG(9)(sp)
  sd    x10, TF_REG(10)(sp)
  sd    x11, TF_REG(11)(sp)
  sd    x12, TF_REG(12)(sp)
  sd    x13, TF_REG(13)(sp)
  sd    x14, TF_REG(14)(sp)
  sd    x15, TF_REG(15)(sp)
  sd    x16, TF_REG(16)(sp)
  sd    x17, TF_REG(17)(sp)
  sd    x18, TF_REG(18)(sp)
  sd    x19, TF_REG(19)(sp)
  sd    x20, TF_REG(20)(sp)
  sd    x21, TF_REG(21)(sp)
  sd    x22, TF_REG(22)(sp)
  sd    x23, TF_REG(23)(sp)
  sd    x24, TF_REG(24)(sp)
  sd    x25, TF_REG(25)(sp)
  sd    x26, TF_REG(26)(sp)
  sd    x27, TF_REG(27)(sp)
  sd    x28, TF_REG(28)(sp)
  sd    x29, TF_REG(29)(sp)
  sd    x30, TF_REG(30)(sp)
  sd    x31, TF_REG(31)(sp)
  ld    t0, CPU_SCRATCH(tp)
  sd    t0, TF_REG(2)(sp)
  csrr  t0, sscratch
  sd    t0, TF_REG(4)(sp)
  /*
   * In the kernel now: sscratch = 0; SUM off (no user access by accident).
   * sstatus is saved first, so an interrupt inside a uaccess window returns
   * with SUM as it was.
   */
  csrw  sscratch, zero
  csrr  t0, sepc
  sd    t0, TF_SEPC(sp)
  csrr  t0, sstatus
  sd    t0, TF_SSTATUS(sp)
  li    t0, (1 << 18)
  csrc  sstatus, t0
  csrr  t0, scause
  sd    t0, TF_SCAUSE(sp)
  csrr  t0, stval
  sd    t0, TF_STVAL(sp)
  /* A frame record so backtraces walk through the trap. */
  ld    s0, TF_REG(8)(sp)
  mv    a0, sp
  call  trap_handler

  .globl trap_return
trap_return:
  /* a0 = frame to return to. */
  mv    sp, a0
  ld    t0, TF_SSTATUS(sp)
  andi  t1, t0, SSTATUS_SPP
  beqz  t1, .Lret_user
  /*
   * Back to S-mode: sstatus.SUM must be clear unless the trap came from
   * inside the uaccess routines (issue 9 item 4). Bit 18 shifted to the
   * sign bit: two instructions when all is well.
   */
  slli  t1, t0, 63 - SSTATUS_SUM_BIT
  bltz  t1, .Lret_sum_set
3:
  csrw  sstatus, t0
  ld    t0, TF_SEPC(sp)
  csrw  sepc, t0
  ld    x1, TF_REG(1)(sp)
  ld    x3, TF_REG(3)(sp)
  ld    x4, TF_REG(4)(sp)
  ld    x5, TF_REG(5)(sp)
  ld    x6, TF_REG(6)(sp)
  ld    x7, TF_REG(7)(sp)
  ld    x8, TF_REG(8)(sp)
  ld    x9, TF_REG(9)(sp)
  ld    x10, TF_REG(10)(sp)
  ld    x11, TF_REG(11)(sp)
  ld    x12, TF_REG(12)(sp)
  ld    x13, TF_REG(13)(sp)
  ld    x14, TF_REG(14)(sp)
  ld    x15, TF_REG(15)(sp)
  ld    x16, TF_REG(16)(sp)
  ld    x17, TF_REG(17)(sp)
  ld    x18, TF_REG(18)(sp)
  ld    x19, TF_REG(19)(sp)
  ld    x20, TF_REG(20)(sp)
  ld    x21, TF_REG(21)(sp)
  ld    x22, TF_REG(22)(sp)
  ld    x23, TF_REG(23)(sp)
  ld    x24, TF_REG(24)(sp)
  ld    x25, TF_REG(25)(sp)
  ld    x26, TF_REG(26)(sp)
  ld    x27, TF_REG(27)(sp)
  ld    x28, TF_REG(28)(sp)
  ld    x29, TF_REG(29)(sp)
  ld    x30, TF_REG(30)(sp)
  ld    x31, TF_REG(31)(sp)
  ld    x2, TF_REG(2)(sp)
  sret

.Lret_user:
  /* Back to U-mode: remember the kernel tp for the next trap. */
  csrw  sscratch, tp
  j     3b

.Lret_sum_set:
  /* trap_check_sum (trap.cpp) reports a leak and clears SUM in the frame. */
  mv    a0, sp
  call  trap_check_sum
  ld    t0, TF_SSTATUS(sp)
  j     3b

/*
 * void call_on_irq_stack(TrapFrame* tf, void (*fn)(TrapFrame*))
 * Runs fn(tf) on this hart's interrupt stack (the idea of Linux's
 * call_on_irq_stack). Meanwhile CpuBlock::stack_base/top describe the IRQ
 * stack, so trap_entry's overflow check and the guard-page check guard it,
 * and the interrupted stack's bounds wait in irq_task_base/top (for
 * backtraces). The frame record below links the two stacks for the
 * frame-pointer walk. Called with interrupts off, never on the IRQ stack.
 */
  .globl call_on_irq_stack
  .balign 4
call_on_irq_stack:
  addi  sp, sp, -16
  sd    ra, 8(sp)
  sd    s0, 0(sp)
  addi  s0, sp, 16
  ld    t0, CPU_STACK_BASE(tp)
  ld    t1, CPU_STACK_TOP(tp)
  sd    t0, CPU_IRQ_TASK_BASE(tp)
  sd    t1, CPU_IRQ_TASK_TOP(tp)
  ld    t0, CPU_IRQ_STACK_BASE(tp)
  ld    t1, CPU_IRQ_STACK_TOP(tp)
  sd    t0, CPU_STACK_BASE(tp)
  sd    t1, CPU_STACK_TOP(tp)
  mv    sp, t1
  jalr  a1
  /* s0 is callee-saved: it still points at the frame record. */
  ld    t0, CPU_IRQ_TASK_BASE(tp)
  ld    t1, CPU_IRQ_TASK_TOP(tp)
  sd    t0, CPU_STACK_BASE(tp)
  sd    t1, CPU_STACK_TOP(tp)
  addi  sp, s0, -16
  ld    ra, 8(sp)
  ld    s0, 0(sp)
  addi  sp, sp, 16
  ret

/*
 * void arch_run_on_stack(uint64_t top, void (*fn)(void*), void* arg)
 * Moves to the stack whose top is `top` and calls fn(arg), which must not
 * return (the boot hart leaving its .bss stack, kernel/stack.h). The
 * caller sets CpuBlock::stack_base/top first. fp = 0 ends backtraces here.
 */
  .globl arch_run_on_stack
  .balign 4
arch_run_on_stack:
  mv    sp, a0
  li    s0, 0
  mv    a0, a2
  jalr  a1
1:
  wfi
  j     1b

/*
 * Access probes with exception fixups: each returns 0 if the access
 * completed and 1 if it faulted (trap.cpp resumes at arch_probe_fault with
 * the listed fixup).
 */
  .globl arch_probe_read
arch_probe_read:
  mv    t0, a0
  li    a0, 0
.Lprobe_load:
  lb    t1, 0(t0)
  ret

  .globl arch_probe_write
arch_probe_write:
  mv    t0, a0
  li    a0, 0
.Lprobe_rmw_load:
  lb    t1, 0(t0)
.Lprobe_rmw_store:
  sb    t1, 0(t0)
  ret

/*
 * Jumps to a0 (which must hold a `ret`) with ra set to come back here. A
 * fetch fault has sepc = a0, not an address in this function, so trap.cpp
 * matches it against the armed per-CPU exec-probe target instead of
 * __ex_table.
 */
  .globl arch_probe_exec
arch_probe_exec:
  addi  sp, sp, -16
  sd    ra, 8(sp)
  mv    t0, a0
  li    a0, 0
  jalr  ra, 0(t0)
.Lprobe_exec_done:
  ld    ra, 8(sp)
  addi  sp, sp, 16
  ret

  .globl arch_probe_fault
arch_probe_fault:
  li    a0, 1
  ret

  .globl arch_probe_exec_fault
arch_probe_exec_fault:
  li    a0, 1
  j     .Lprobe_exec_done

  .section __ex_table, "a"
  .balign 8
  .dword .Lprobe_load, arch_probe_fault
  .dword .Lprobe_rmw_load, arch_probe_fault
  .dword .Lprobe_rmw_store, arch_probe_fault
