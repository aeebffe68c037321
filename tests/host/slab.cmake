# Object allocators (mm/slab*, mm/kmalloc, mm/mempool, mm/percpu_alloc):
# GoogleTest executable `slab_tests` over the host-compiled page allocator
# and the fake machines of tests/host/mm_test_arena.h. On-target self-tests
# (mm/*_selftest.cpp) are not part of the host build.
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)
include(GoogleTest)

file(GLOB SLAB_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/slab_*_test.cpp)

add_executable(slab_tests ${SLAB_TEST_SOURCES} ${HOST_SLAB_SOURCES} ${HOST_MM_CORE_SOURCES}
  ${HOST_FDT_SOURCES})
target_include_directories(slab_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(slab_tests PRIVATE cxx_std_20)
target_compile_options(slab_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(slab_tests PRIVATE ${HOST_SAN_FLAGS})
target_link_libraries(slab_tests PRIVATE host_fakes GTest::gtest_main Threads::Threads)
gtest_discover_tests(slab_tests DISCOVERY_TIMEOUT 60)
