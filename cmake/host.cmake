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

add_subdirectory(tests/host)
add_subdirectory(tests/gdb)
add_subdirectory(tests/lint)
add_subdirectory(tests/bench)
file(GLOB FUZZ_CMAKE CONFIGURE_DEPENDS ${REPO_ROOT}/tests/fuzz/*.cmake)
foreach(f ${FUZZ_CMAKE})
  include(${f})
endforeach()
# Static riscv64 user programs (glibc) and build/initramfs.cpio.
if(EXISTS ${REPO_ROOT}/tests/user/CMakeLists.txt)
  add_subdirectory(tests/user)
endif()
if(EXISTS ${REPO_ROOT}/tests/qemu/CMakeLists.txt)
  add_subdirectory(tests/qemu)
endif()
