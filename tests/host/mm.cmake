# Physical memory core (mm/: memblock, page map, zones, buddy, pcp,
# watermarks, dumps, dt_memory): GoogleTest executable `mm_tests` over a
# fake memory arena (tests/host/mm_test_arena.h). On-target self-tests
# (mm/*_selftest.cpp) are not part of the host build.
find_package(GTest REQUIRED)
include(GoogleTest)

# The physical memory core, listed explicitly: other mm/ files (slab,
# vmalloc, ...) have their own host executables or are kernel-only.
set(MM_CORE_SOURCES
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
  ${REPO_ROOT}/mm/zone.cpp)
file(GLOB MM_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/mm_*_test.cpp)

add_executable(mm_tests ${MM_TEST_SOURCES} ${MM_CORE_SOURCES}
  ${REPO_ROOT}/lib/fdt.cpp
  ${REPO_ROOT}/lib/fdt_boot.cpp
  ${REPO_ROOT}/lib/cmdline.cpp)
target_include_directories(mm_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(mm_tests PRIVATE cxx_std_20)
target_compile_options(mm_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(mm_tests PRIVATE ${HOST_SAN_FLAGS})
target_compile_definitions(mm_tests PRIVATE MM_DTB_DIR="${REPO_ROOT}/tests/data/dtb")
find_package(Threads REQUIRED)
target_link_libraries(mm_tests PRIVATE host_fakes GTest::gtest_main Threads::Threads)
gtest_discover_tests(mm_tests DISCOVERY_TIMEOUT 60)
