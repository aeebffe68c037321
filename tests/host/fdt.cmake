# FDT reader (lib/fdt*) and kernel command line (lib/cmdline): GoogleTest
# executable `fdt_tests`, checked against libfdt on the blobs in
# tests/data/dtb (see tests/data/dtb/regen.sh).
find_package(GTest REQUIRED)
include(GoogleTest)

add_executable(fdt_tests
  ${CMAKE_CURRENT_LIST_DIR}/fdt_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cmdline_test.cpp
  ${REPO_ROOT}/lib/fdt.cpp
  ${REPO_ROOT}/lib/fdt_boot.cpp
  ${REPO_ROOT}/lib/cmdline.cpp)
target_include_directories(fdt_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(fdt_tests PRIVATE cxx_std_20)
target_compile_options(fdt_tests PRIVATE ${HOST_SAN_FLAGS})
target_link_options(fdt_tests PRIVATE ${HOST_SAN_FLAGS})
target_compile_definitions(fdt_tests PRIVATE FDT_DATA_DIR="${REPO_ROOT}/tests/data/dtb")
# libfdt-dev: the reference implementation the reader is compared against.
target_link_libraries(fdt_tests PRIVATE GTest::gtest_main fdt)
gtest_discover_tests(fdt_tests DISCOVERY_TIMEOUT 60)

# The checked-in fixture blob must be what its source compiles to (rebuild
# both with tests/data/dtb/regen.sh).
find_program(DTC_EXECUTABLE dtc)
if(DTC_EXECUTABLE)
  add_test(NAME fdt_fixture_dtb_matches_dts
    COMMAND sh -c "\"$0\" -q -I dts -O dtb -o \"$1\" \"$2\" && cmp \"$1\" \"$3\""
            ${DTC_EXECUTABLE} ${CMAKE_CURRENT_BINARY_DIR}/reserved.dtb
            ${REPO_ROOT}/tests/data/dtb/reserved.dts ${REPO_ROOT}/tests/data/dtb/reserved.dtb)
endif()
