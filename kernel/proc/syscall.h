// The Linux riscv64 system call ABI (asm-generic/unistd.h numbers; ecall
// with the number in a7, arguments in a0..a5, result or -errno in a0).
#pragma once

#include <cstdint>

#include "arch/riscv/kernel/trap.h"

namespace k {

// Runs the call the frame describes; returns the value for a0.
int64_t syscall_dispatch(arch::TrapFrame& tf);

// -errno as a syscall return value.
constexpr int64_t neg(int e) { return -static_cast<int64_t>(e); }

}  // namespace k
