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
