// Host fake of the arch per-CPU interface (arch/riscv/include/arch/
// percpu.h). There is no `tp` and no linker-built template: the template
// is a small zeroed array (tests/host/fake_percpu.cpp) and each test hands
// every fake CPU a block of its own with set_cpu_block(); this_cpu()
// (tests/host/include/arch/cpu.h) picks the current one.
#pragma once

#include <cstddef>
#include <cstdint>

#include <arch/cpu.h>

extern "C" char __percpu_start[], __percpu_end[];

namespace arch {

struct CpuBlock {
  CpuBlock* self;
  uint64_t scratch;
  uint64_t kernel_sp;
  uint64_t cpu;
  uint64_t hartid;
  uint64_t overflow_sp;
  uint64_t irq_depth;
  uint64_t node;
  uint64_t stack_base;
  uint64_t stack_top;
};

CpuBlock* cpu_block_of(unsigned cpu);
// Host only: the per-CPU area of a fake CPU (nullptr to forget it).
void set_cpu_block(unsigned cpu, CpuBlock* block);

// Growth (arch/riscv/include/arch/percpu.h). The fake's units are
// reservations (PROT_NONE) made by fake_percpu_units(); populate makes
// pages accessible and zero, depopulate takes them away again, so a stray
// access to an unpopulated part crashes the test.
size_t percpu_unit_size();
bool percpu_populate(size_t offset, size_t size);
void percpu_depopulate(size_t offset, size_t size);
uint64_t percpu_populated_pages();
// Host only: reserves a unit per CPU (first `first_bytes` accessible and
// filled with garbage), sets their blocks; false on mmap failure. With
// ncpus 0 it releases them. fail_after: populate fails after that many
// more pages (~0: never), to test the error path.
bool fake_percpu_units(unsigned ncpus, size_t first_bytes);
void fake_percpu_fail_after(uint64_t pages);

inline CpuBlock* cpu_block() { return cpu_block_of(this_cpu()); }

inline size_t percpu_offset_of(const void* var) {
  return static_cast<size_t>(reinterpret_cast<uintptr_t>(var) -
                             reinterpret_cast<uintptr_t>(__percpu_start));
}

template <typename T>
T* per_cpu_ptr_in(CpuBlock* block, T* var) {
  return reinterpret_cast<T*>(reinterpret_cast<char*>(block) + percpu_offset_of(var));
}

}  // namespace arch

#define DEFINE_PER_CPU(type, name) type name
#define DECLARE_PER_CPU(type, name) extern type name
#define this_cpu_ptr(var) (::arch::per_cpu_ptr_in(::arch::cpu_block(), (var)))
#define per_cpu_ptr(var, cpu) (::arch::per_cpu_ptr_in(::arch::cpu_block_of(cpu), (var)))
#define this_cpu_read(name) (*this_cpu_ptr(&(name)))
#define this_cpu_write(name, v) (*this_cpu_ptr(&(name)) = (v))
#define per_cpu(name, cpu) (*per_cpu_ptr(&(name), (cpu)))
