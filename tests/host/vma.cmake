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
