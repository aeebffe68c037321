# Kernel virtual memory core: the page-table editor over simulated physical
# memory for Sv39 and Sv48 (arch/riscv/mm/pgtable_core.h) and the vmalloc
# free-area allocator (mm/vmap_area.cpp). GoogleTest executable `vm_tests`.
find_package(GTest REQUIRED)
include(GoogleTest)

add_executable(vm_tests
  ${CMAKE_CURRENT_LIST_DIR}/pgtable_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vmap_area_test.cpp
  ${REPO_ROOT}/mm/vmap_area.cpp)
target_include_directories(vm_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(vm_tests PRIVATE cxx_std_20)
target_compile_options(vm_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(vm_tests PRIVATE ${HOST_SAN_FLAGS})
target_link_libraries(vm_tests PRIVATE host_fakes GTest::gtest_main)
gtest_discover_tests(vm_tests DISCOVERY_TIMEOUT 60)

# mm.cmake globs every mm/*.cpp into mm_tests. vmalloc.cpp and ioremap.cpp
# sit on the arch page-table and TLB interface (<arch/pgtable.h>,
# <arch/tlb.h>), which has no host fake, so they are kernel-only: take them
# out of mm_tests (this file is included after mm.cmake: GLOB sorts).
if(TARGET mm_tests)
  get_target_property(_mm_srcs mm_tests SOURCES)
  list(FILTER _mm_srcs EXCLUDE REGEX ".*/mm/(vmalloc|ioremap)\\.cpp$")
  set_property(TARGET mm_tests PROPERTY SOURCES ${_mm_srcs})
endif()
