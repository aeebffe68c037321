# Cross toolchain for the kernel: Debian's riscv64-linux-gnu GCC 12.
#
# Why GCC rather than clang 14 + lld: the same compiler builds the user test
# programs against glibc (tests/user), so one toolchain serves both sides;
# GCC 12's riscv backend supports the whole -march string we use
# (rv64imac_zicsr_zifencei) and its libstdc++ headers give us <atomic>,
# <type_traits>, <span>, <optional> for freestanding use. Two small gaps are
# covered here: the glibc headers only ship gnu/stubs-lp64d.h, so an empty
# gnu/stubs-lp64.h shim sits in lib/shim; and the lp64 (soft-float)
# libgcc.a comes from gcc-riscv64-unknown-elf's multilib.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv64)

set(CROSS riscv64-linux-gnu-)
set(CMAKE_C_COMPILER ${CROSS}gcc)
set(CMAKE_CXX_COMPILER ${CROSS}g++)
set(CMAKE_ASM_COMPILER ${CROSS}gcc)
set(CMAKE_OBJCOPY ${CROSS}objcopy CACHE FILEPATH "objcopy")
set(CMAKE_NM ${CROSS}nm CACHE FILEPATH "nm")

# Compiler checks would try to link a hosted program.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(KERNEL_ARCH_FLAGS
    -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany -mno-relax)
set(KERNEL_LIBGCC
    /usr/lib/gcc/riscv64-unknown-elf/12.2.0/rv64imac/lp64/libgcc.a)
