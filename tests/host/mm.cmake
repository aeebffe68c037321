# Physical memory core (mm/: memblock, page map, zones, buddy, pcp,
# watermarks, dumps, dt_memory): GoogleTest executable `mm_tests` over a
# fake memory arena (tests/host/mm_test_arena.h). On-target self-tests
# (mm/*_selftest.cpp) are not part of the host build.
find_package(GTest REQUIRED)
include(GoogleTest)

file(GLOB MM_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/mm_*_test.cpp)

add_executable(mm_tests ${MM_TEST_SOURCES} ${HOST_MM_CORE_SOURCES}
  ${HOST_FDT_SOURCES})
target_include_directories(mm_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(mm_tests PRIVATE cxx_std_20)
target_compile_options(mm_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(mm_tests PRIVATE ${HOST_SAN_FLAGS})
target_compile_definitions(mm_tests PRIVATE MM_DTB_DIR="${REPO_ROOT}/tests/data/dtb")
find_package(Threads REQUIRED)
target_link_libraries(mm_tests PRIVATE host_fakes GTest::gtest_main Threads::Threads)
gtest_discover_tests(mm_tests DISCOVERY_TIMEOUT 60)
