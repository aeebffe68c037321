# User address-space metadata: the red-black tree (lib/rbtree.h) and the VMA
# tree (mm/vma.cpp) against page-granular models. GoogleTest executable
# `vma_tests`.
find_package(GTest REQUIRED)
include(GoogleTest)

add_executable(vma_tests ${CMAKE_CURRENT_LIST_DIR}/vma_test.cpp ${REPO_ROOT}/mm/vma.cpp)
target_include_directories(vma_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(vma_tests PRIVATE cxx_std_20)
target_compile_options(vma_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(vma_tests PRIVATE ${HOST_SAN_FLAGS})
target_link_libraries(vma_tests PRIVATE host_fakes GTest::gtest_main)
gtest_discover_tests(vma_tests DISCOVERY_TIMEOUT 60)

# mm/mm_struct.cpp, mm/fault.cpp and mm/mmap.cpp drive the user page tables
# and the scheduler: kernel-only. Targets that glob mm/*.cpp (slab.cmake)
# must not pick them up; this file is included after them (GLOB sorts).
get_property(_vma_targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
foreach(_t ${_vma_targets})
  get_target_property(_type ${_t} TYPE)
  if(NOT _type STREQUAL "EXECUTABLE" AND NOT _type STREQUAL "STATIC_LIBRARY")
    continue()
  endif()
  get_target_property(_srcs ${_t} SOURCES)
  if(NOT _srcs)
    continue()
  endif()
  set(_kept ${_srcs})
  list(FILTER _kept EXCLUDE REGEX ".*/mm/(mm_struct|fault|mmap)[a-z_]*\\.cpp$")
  if(NOT _kept STREQUAL _srcs)
    set_property(TARGET ${_t} PROPERTY SOURCES ${_kept})
  endif()
endforeach()
