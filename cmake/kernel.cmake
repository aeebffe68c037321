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
  ${REPO_ROOT}/drivers/*.cpp
  ${REPO_ROOT}/board/*.cpp)

set(KERNEL_CXX_FLAGS
  ${KERNEL_ARCH_FLAGS}
  -ffreestanding -fno-exceptions -fno-rtti -fno-jump-tables
  -fno-threadsafe-statics -fno-use-cxa-atexit -fno-stack-protector
  -fno-omit-frame-pointer -fno-pic -fno-pie -fno-common
  -ffunction-sections -fdata-sections
  -O2 -g -Wall -Wextra -Werror -Wno-missing-field-initializers)

# Compiled once, linked twice (like Linux's kallsyms): pass 1 with an empty
# symbol table, then tools/kallsyms.py reads pass 1's symbols and pass 2
# links them in. The table sits at the end of .rodata, so code addresses
# are the same in both links.
add_library(kernel_objs OBJECT ${KERNEL_SOURCES})
target_include_directories(kernel_objs PRIVATE
  ${REPO_ROOT} ${REPO_ROOT}/arch/riscv/include)
target_include_directories(kernel_objs SYSTEM PRIVATE ${REPO_ROOT}/lib/shim)
target_compile_options(kernel_objs PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:${KERNEL_CXX_FLAGS}>
  $<$<COMPILE_LANGUAGE:ASM>:${KERNEL_ARCH_FLAGS} -g>)
target_compile_definitions(kernel_objs PRIVATE
  KERNEL_VERSION="${KERNEL_VERSION}" __KERNEL__=1)

set(KALLSYMS_PY ${REPO_ROOT}/tools/kallsyms.py)
set(KALLSYMS_EMPTY ${CMAKE_BINARY_DIR}/kallsyms_empty.S)
set(KALLSYMS_FULL ${CMAKE_BINARY_DIR}/kallsyms.S)
add_custom_command(OUTPUT ${KALLSYMS_EMPTY}
  COMMAND python3 ${KALLSYMS_PY} --empty -o ${KALLSYMS_EMPTY}
  DEPENDS ${KALLSYMS_PY})

function(kernel_link target table)
  add_executable(${target} $<TARGET_OBJECTS:kernel_objs> ${table})
  target_compile_options(${target} PRIVATE ${KERNEL_ARCH_FLAGS})
  target_link_options(${target} PRIVATE
    -nostdlib -static -no-pie -Wl,--no-relax -Wl,--gc-sections
    -Wl,-T,${REPO_ROOT}/linker/kernel.ld -Wl,--build-id=none
    -Wl,--no-warn-rwx-segments
    -Wl,-Map,${CMAKE_BINARY_DIR}/${target}.map)
  target_link_libraries(${target} PRIVATE ${KERNEL_LIBGCC})
  set_target_properties(${target} PROPERTIES LINK_DEPENDS ${REPO_ROOT}/linker/kernel.ld)
endfunction()

kernel_link(kernel.pass1.elf ${KALLSYMS_EMPTY})
add_custom_command(OUTPUT ${KALLSYMS_FULL}
  COMMAND python3 ${KALLSYMS_PY} --nm ${CMAKE_NM} kernel.pass1.elf -o ${KALLSYMS_FULL}
  DEPENDS kernel.pass1.elf ${KALLSYMS_PY}
  COMMENT "kallsyms")
kernel_link(kernel.elf ${KALLSYMS_FULL})
# The check that pass 2 moved no code: text symbols must match pass 1.
add_custom_command(TARGET kernel.elf POST_BUILD
  COMMAND python3 ${KALLSYMS_PY} --nm ${CMAKE_NM} kernel.elf -o ${CMAKE_BINARY_DIR}/kallsyms.check.S
  COMMAND ${CMAKE_COMMAND} -E compare_files ${KALLSYMS_FULL} ${CMAKE_BINARY_DIR}/kallsyms.check.S
  COMMENT "kallsyms: verifying the second link kept every code address")

# The Image is the flat binary of the ELF: the Image header is its first
# 64 bytes (arch/riscv/boot/head.S), so QEMU -kernel and U-Boot booti load it.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/Image
  COMMAND ${CMAKE_OBJCOPY} -O binary kernel.elf Image
  DEPENDS kernel.elf
  COMMENT "Image")
add_custom_target(kernel_image ALL DEPENDS ${CMAKE_BINARY_DIR}/Image)
