/* Offsets used by assembly; static_asserted against the C++ structs in
 * arch/riscv/kernel/trap.cpp so the two cannot drift apart. */
#pragma once

/* struct arch::CpuBlock (arch/percpu.h) */
#define CPU_SELF 0
#define CPU_SCRATCH 8
#define CPU_KERNEL_SP 16
#define CPU_OVERFLOW_SP 40
#define CPU_STACK_BASE 64
#define CPU_STACK_TOP 72
#define CPU_IRQ_STACK_BASE 80
#define CPU_IRQ_STACK_TOP 88
#define CPU_IRQ_TASK_BASE 96
#define CPU_IRQ_TASK_TOP 104

/* struct arch::TrapFrame (arch/riscv/kernel/trap.h): x0..x31 then CSRs. */
#define TF_REG(n) ((n)*8)
#define TF_SEPC (32 * 8)
#define TF_SSTATUS (33 * 8)
#define TF_SCAUSE (34 * 8)
#define TF_STVAL (35 * 8)
#define TF_SIZE (36 * 8)

#define SSTATUS_SPP (1 << 8)
#define SSTATUS_SUM_BIT 18
