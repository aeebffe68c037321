# Boards (issue 7): GoogleTest executable `board_tests` running the board
# DTs (tests/data/dtb/visionfive2-*.dtb from board/visionfive2/dts, and
# QEMU's sifive_u blob) through DT -> memblock -> nodes/zones, the hart
# filter, the console choice and the board-hook registry (board/board.h);
# a check that the checked-in DTBs are what their sources compile to; and
# `board_image_visionfive2`, which builds the SD/TFTP artefacts of
# `make image BOARD=visionfive2` and inspects them.
find_package(GTest REQUIRED)
include(GoogleTest)

add_executable(board_tests
  ${CMAKE_CURRENT_LIST_DIR}/board_dt_test.cpp
  ${REPO_ROOT}/board/board.cpp
  ${HOST_FDT_SOURCES}
  ${HOST_MM_CORE_SOURCES})
target_include_directories(board_tests PRIVATE ${HOST_INCLUDES})
target_compile_features(board_tests PRIVATE cxx_std_20)
target_compile_options(board_tests PRIVATE ${HOST_SAN_FLAGS} -Wall -Wextra -Werror)
target_link_options(board_tests PRIVATE ${HOST_SAN_FLAGS})
target_compile_definitions(board_tests PRIVATE BOARD_DTB_DIR="${REPO_ROOT}/tests/data/dtb")
find_package(Threads REQUIRED)
target_link_libraries(board_tests PRIVATE host_fakes GTest::gtest_main Threads::Threads)
gtest_discover_tests(board_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)

find_program(BOARD_DTC dtc)
if(BOARD_DTC)
  foreach(gb 2 4 8)
    add_test(NAME board_dtb_visionfive2_${gb}gb_matches_dts
      COMMAND sh -c "\"$0\" -q -I dts -O dtb -o \"$1\" \"$2\" && cmp \"$1\" \"$3\""
              ${BOARD_DTC} ${CMAKE_CURRENT_BINARY_DIR}/visionfive2-v1.3b-${gb}gb.dtb
              ${REPO_ROOT}/board/visionfive2/dts/jh7110-visionfive2-v1.3b-${gb}gb.dts
              ${REPO_ROOT}/tests/data/dtb/visionfive2-v1.3b-${gb}gb.dtb)
  endforeach()
endif()

# The SD-card and TFTP artefacts, checked with mtools and u-boot-tools.
# KERNEL_IMAGE is set by the host build when the kernel tree exists.
find_program(BOARD_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(BOARD_PYTHON NAMES python3)
if(BOARD_PYTHON AND KERNEL_IMAGE)
  add_test(NAME board_image_visionfive2
    COMMAND ${BOARD_PYTHON} -B ${CMAKE_CURRENT_LIST_DIR}/board_image_test.py
            --board visionfive2 --kernel ${KERNEL_IMAGE}
            --work ${CMAKE_CURRENT_BINARY_DIR}/board_image_visionfive2)
  set_tests_properties(board_image_visionfive2 PROPERTIES TIMEOUT 120 LABELS board)
endif()
