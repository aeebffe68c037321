# DMA core on the host: the device DMA configuration from the DT
# (drivers/base/dma_config.cpp) over a dtc-compiled fixture with nested
# buses, and the bounce pool's slot allocator (mm/dma/swiotlb_slots.cpp).
find_package(GTest REQUIRED)
include(GoogleTest)
find_program(DTC_EXECUTABLE dtc REQUIRED)

set(DMA_FIXTURE_DTB ${CMAKE_CURRENT_BINARY_DIR}/dma_nested.dtb)
add_custom_command(OUTPUT ${DMA_FIXTURE_DTB}
  COMMAND ${DTC_EXECUTABLE} -q -I dts -O dtb -o ${DMA_FIXTURE_DTB}
          ${REPO_ROOT}/tests/data/dtb/dma_nested.dts
  DEPENDS ${REPO_ROOT}/tests/data/dtb/dma_nested.dts
  COMMENT "dtc dma_nested.dts")
add_custom_target(dma_fixtures DEPENDS ${DMA_FIXTURE_DTB})

add_executable(dma_tests
  ${CMAKE_CURRENT_LIST_DIR}/dma_config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dma_swiotlb_test.cpp
  ${REPO_ROOT}/drivers/base/dma_config.cpp
  ${REPO_ROOT}/mm/dma/swiotlb_slots.cpp
  ${REPO_ROOT}/lib/fdt.cpp)
add_dependencies(dma_tests dma_fixtures)
target_include_directories(dma_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(dma_tests PRIVATE cxx_std_20)
target_compile_options(dma_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(dma_tests PRIVATE ${HOST_SAN_FLAGS})
target_compile_definitions(dma_tests PRIVATE DMA_FIXTURE_DTB="${DMA_FIXTURE_DTB}")
target_link_libraries(dma_tests PRIVATE host_fakes GTest::gtest_main)
gtest_discover_tests(dma_tests DISCOVERY_TIMEOUT 60)
