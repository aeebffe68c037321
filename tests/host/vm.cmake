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

# Other host targets glob every mm/*.cpp (mm.cmake, slab.cmake, ...).
# vmalloc.cpp and ioremap.cpp sit on the arch page-table and TLB interface
# (<arch/pgtable.h>, <arch/tlb.h>), which has no host fake: they are
# kernel-only, so take them out of every target defined so far (this file
# is included last: GLOB sorts, and "vm" comes after the other areas).
get_property(_vm_targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
foreach(_t ${_vm_targets})
  get_target_property(_type ${_t} TYPE)
  if(NOT _type STREQUAL "EXECUTABLE" AND NOT _type STREQUAL "STATIC_LIBRARY")
    continue()
  endif()
  get_target_property(_srcs ${_t} SOURCES)
  if(NOT _srcs)
    continue()
  endif()
  set(_kept ${_srcs})
  list(FILTER _kept EXCLUDE REGEX ".*/mm/(vmalloc|ioremap)\\.cpp$")
  if(NOT _kept STREQUAL _srcs)
    set_property(TARGET ${_t} PROPERTY SOURCES ${_kept})
  endif()
endforeach()
