# The kernel image: every .cpp/.S under the kernel's source rooms.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS ON)
# Optimisation is chosen in KERNEL_CXX_FLAGS, not by the build type.
set(CMAKE_CXX_FLAGS_RELEASE "")
set(CMAKE_CXX_FLAGS_DEBUG "")

file(GLOB_RECURSE KERNEL_SOURCES CONFIGURE_DEPENDS
  ${REPO_ROOT}/arch/riscv/*.cpp ${REPO_ROOT}/arch/riscv/*.S
  ${REPO_ROOT}/kernel/*.cpp ${REPO_ROOT}/kernel/*.S
  ${REPO_ROOT}/mm/*.cpp
  ${REPO_ROOT}/lib/*.cpp
  ${REPO_ROOT}/fs/*.cpp
  ${REPO_ROOT}/drivers/*.cpp)

set(KERNEL_CXX_FLAGS
  ${KERNEL_ARCH_FLAGS}
  -ffreestanding -fno-exceptions -fno-rtti -fno-jump-tables
  -fno-threadsafe-statics -fno-use-cxa-atexit -fno-stack-protector
  -fno-omit-frame-pointer -fno-pic -fno-pie -fno-common
  -ffunction-sections -fdata-sections
  -O2 -g -Wall -Wextra -Werror -Wno-missing-field-initializers)

add_executable(kernel.elf ${KERNEL_SOURCES})
target_include_directories(kernel.elf PRIVATE
  ${REPO_ROOT} ${REPO_ROOT}/arch/riscv/include)
target_include_directories(kernel.elf SYSTEM PRIVATE ${REPO_ROOT}/lib/shim)
target_compile_options(kernel.elf PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:${KERNEL_CXX_FLAGS}>
  $<$<COMPILE_LANGUAGE:ASM>:${KERNEL_ARCH_FLAGS} -g>)
target_compile_definitions(kernel.elf PRIVATE
  KERNEL_VERSION="${KERNEL_VERSION}" __KERNEL__=1)
target_link_options(kernel.elf PRIVATE
  -nostdlib -static -no-pie -Wl,--no-relax -Wl,--gc-sections
  -Wl,-T,${REPO_ROOT}/linker/kernel.ld -Wl,--build-id=none
  -Wl,--no-warn-rwx-segments
  -Wl,-Map,${CMAKE_BINARY_DIR}/kernel.map)
target_link_libraries(kernel.elf PRIVATE ${KERNEL_LIBGCC})
set_target_properties(kernel.elf PROPERTIES LINK_DEPENDS ${REPO_ROOT}/linker/kernel.ld)

# The Image is the flat binary of the ELF: the Image header is its first
# 64 bytes (arch/riscv/boot/head.S), so QEMU -kernel and U-Boot booti load it.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/Image
  COMMAND ${CMAKE_OBJCOPY} -O binary kernel.elf Image
  DEPENDS kernel.elf
  COMMENT "Image")
add_custom_target(kernel_image ALL DEPENDS ${CMAKE_BINARY_DIR}/Image)
