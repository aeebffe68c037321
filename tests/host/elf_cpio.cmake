# ELF64 validation (lib/elf), the cpio newc reader (lib/cpio) and the
# initramfs tree (fs/initramfs): GoogleTest executable `elf_cpio_tests`.
# The real riscv64 user programs and build/initramfs.cpio are used when
# tests/user has built them (their tests skip otherwise).
add_executable(elf_cpio_tests
  ${CMAKE_CURRENT_LIST_DIR}/elf_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cpio_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/initramfs_test.cpp
  ${REPO_ROOT}/lib/elf.cpp
  ${REPO_ROOT}/lib/cpio.cpp
  ${REPO_ROOT}/lib/errno.cpp
  ${REPO_ROOT}/fs/initramfs.cpp)
target_include_directories(elf_cpio_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(elf_cpio_tests PRIVATE cxx_std_20)
target_compile_options(elf_cpio_tests PRIVATE ${HOST_SAN_FLAGS})
target_link_options(elf_cpio_tests PRIVATE ${HOST_SAN_FLAGS})
get_filename_component(_elf_cpio_build_root ${KERNEL_BUILD_DIR} DIRECTORY)
target_compile_definitions(elf_cpio_tests PRIVATE
  REPO_ROOT="${REPO_ROOT}"
  USER_BIN_DIR="${CMAKE_BINARY_DIR}/tests/user/root/bin"
  INITRAMFS_CPIO="${_elf_cpio_build_root}/initramfs.cpio")
target_link_libraries(elf_cpio_tests PRIVATE GTest::gtest_main host_fakes)
gtest_discover_tests(elf_cpio_tests DISCOVERY_TIMEOUT 60)
