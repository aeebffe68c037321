// Arch interface: hart-local (per-CPU) data.
//
// Static per-CPU variables are defined with DEFINE_PER_CPU(type, name); the
// linker collects them in the `.percpu` template section. At boot every
// hart gets its own copy of the template in node-local memory and `tp`
// points at the start of that copy (managarm/Linux style), so
//   this_cpu_ptr(&var) = tp + (&var - __percpu_start)
// is one add. The first bytes of every copy are the CpuBlock, which the
// trap entry reads at fixed offsets (static_asserted in
// arch/riscv/kernel/trap.cpp against arch/riscv/kernel/asm_offsets.h).
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" char __percpu_start[], __percpu_end[];

namespace arch {

struct CpuBlock {
  CpuBlock* self;        // 0: this copy's own address
  uint64_t scratch;      // 8: trap entry parks the interrupted sp here
  uint64_t kernel_sp;    // 16: kernel stack top to use on a trap from U-mode
  uint64_t cpu;          // 24: logical id (dense)
  uint64_t hartid;       // 32: SBI/DT hart id (may be sparse)
  uint64_t overflow_sp;  // 40: per-hart stack for reporting stack overflow
  uint64_t irq_depth;    // 48
  uint64_t node;         // 56: NUMA node of this hart
  uint64_t stack_base;   // 64: lowest address of the current kernel stack
  uint64_t stack_top;    // 72
  // This hart's interrupt stack (kernel/stack.h). While an interrupt
  // handler runs on it, stack_base/top above describe it and the bounds
  // of the interrupted stack wait in irq_task_base/top.
  uint64_t irq_stack_base;  // 80
  uint64_t irq_stack_top;   // 88
  uint64_t irq_task_base;   // 96
  uint64_t irq_task_top;    // 104
};

inline CpuBlock* cpu_block() {
  CpuBlock* b;
  asm volatile("mv %0, tp" : "=r"(b));
  return b;
}

inline size_t percpu_offset_of(const void* var) {
  return static_cast<size_t>(static_cast<const char*>(var) - __percpu_start);
}

// The copy of `var` that belongs to the hart whose block is `block`.
template <typename T>
T* per_cpu_ptr_in(CpuBlock* block, T* var) {
  return reinterpret_cast<T*>(reinterpret_cast<char*>(block) + percpu_offset_of(var));
}

// Per-CPU base of a logical cpu (set up by percpu_init).
CpuBlock* cpu_block_of(unsigned cpu);

// Growth of the per-CPU areas (mm/percpu_alloc.cpp; docs/memory-layout.md
// "Per-CPU units"). Every CPU's area is the start of a unit of
// percpu_unit_size() bytes of virtual space in the per-CPU region, all
// units the same size, so one offset from __percpu_start names the same
// variable in every unit. Only the first chunk (template + reserved
// dynamic region) is backed at boot.
size_t percpu_unit_size();
// Backs [offset, offset+size) of every CPU's unit (page-aligned) with
// zeroed pages from that CPU's node. false (nothing changed) without
// memory or past the unit.
bool percpu_populate(size_t offset, size_t size);
// Unmaps [offset, offset+size) of every unit (one shootdown) and frees
// its pages.
void percpu_depopulate(size_t offset, size_t size);
// Pages percpu_populate mapped and percpu_depopulate has not freed.
uint64_t percpu_populated_pages();

}  // namespace arch

#define DEFINE_PER_CPU(type, name) [[gnu::section(".percpu")]] type name
#define DECLARE_PER_CPU(type, name) extern type name
// This hart's copy. Callers keep preemption off (interrupt handlers, or
// code between get_cpu/put_cpu) while they hold the pointer.
#define this_cpu_ptr(var) (::arch::per_cpu_ptr_in(::arch::cpu_block(), (var)))
#define per_cpu_ptr(var, cpu) (::arch::per_cpu_ptr_in(::arch::cpu_block_of(cpu), (var)))
#define this_cpu_read(name) (*this_cpu_ptr(&(name)))
#define this_cpu_write(name, v) (*this_cpu_ptr(&(name)) = (v))
#define per_cpu(name, cpu) (*per_cpu_ptr(&(name), (cpu)))
