# Host build: the architecture-neutral core (lib/, mm/ core) under
# GoogleTest with ASan+UBSan, the libFuzzer targets, and the QEMU scenarios
# that boot the cross-built Image.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
enable_testing()

find_package(GTest REQUIRED)
include(GoogleTest)

set(HOST_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
set(HOST_INCLUDES ${REPO_ROOT} ${REPO_ROOT}/tests/host/include)
add_compile_options(-Wall -Wextra -Werror -Wno-missing-field-initializers -g -O1)

set(KERNEL_BUILD_DIR ${REPO_ROOT}/build/kernel CACHE PATH "cross build directory")
set(KERNEL_IMAGE ${KERNEL_BUILD_DIR}/Image CACHE FILEPATH "kernel Image under test")
set(KERNEL_ELF ${KERNEL_BUILD_DIR}/kernel.elf CACHE FILEPATH "kernel ELF under test")
set(QEMU_TIMEOUT_SCALE 1 CACHE STRING "multiplier for QEMU scenario timeouts")

# The host-compilable cores, named once for every area's executable. Files
# not listed here are kernel-only (they sit on the arch page-table/TLB
# interface, read rdinstret, or run cross-calls).
set(HOST_FDT_SOURCES
  ${REPO_ROOT}/lib/fdt.cpp
  ${REPO_ROOT}/lib/fdt_boot.cpp
  ${REPO_ROOT}/lib/cmdline.cpp)
# The physical memory core: memblock, page map, zones, buddy, pcp.
set(HOST_MM_CORE_SOURCES
  ${REPO_ROOT}/mm/boot_mem.cpp
  ${REPO_ROOT}/mm/dt_memory.cpp
  ${REPO_ROOT}/mm/memblock.cpp
  ${REPO_ROOT}/mm/mm_dump.cpp
  ${REPO_ROOT}/mm/mm_init.cpp
  ${REPO_ROOT}/mm/numa.cpp
  ${REPO_ROOT}/mm/page_alloc.cpp
  ${REPO_ROOT}/mm/page_map.cpp
  ${REPO_ROOT}/mm/pcp.cpp
  ${REPO_ROOT}/mm/watermark.cpp
  ${REPO_ROOT}/mm/zone.cpp
  ${REPO_ROOT}/mm/accounting.cpp
  ${REPO_ROOT}/mm/fault_inject.cpp
  ${REPO_ROOT}/lib/format.cpp)
# The object allocators on top of it.
set(HOST_SLAB_SOURCES
  ${REPO_ROOT}/mm/slab.cpp
  ${REPO_ROOT}/mm/slab_debug.cpp
  ${REPO_ROOT}/mm/slab_info.cpp
  ${REPO_ROOT}/mm/kmalloc.cpp
  ${REPO_ROOT}/mm/mempool.cpp
  ${REPO_ROOT}/mm/percpu_alloc.cpp)

add_subdirectory(tests/host)
add_subdirectory(tests/gdb)
add_subdirectory(tests/lint)
add_subdirectory(tests/bench)
add_subdirectory(tests/fuzz)
# Static riscv64 user programs (glibc) and build/initramfs.cpio.
if(EXISTS ${REPO_ROOT}/tests/user/CMakeLists.txt)
  add_subdirectory(tests/user)
endif()
if(EXISTS ${REPO_ROOT}/tests/qemu/CMakeLists.txt)
  add_subdirectory(tests/qemu)
endif()
