# libFuzzer targets (TESTING.md layer 2) for the FDT reader and the kernel
# command line. The host build uses g++, and libFuzzer needs clang, so the
# fuzzers are built by clang++ directly through custom commands, into
# ${CMAKE_BINARY_DIR}/fuzz. Each runs as a ctest for a bounded time from the
# checked-in seeds; new inputs go to a scratch directory so the seed corpus
# is never modified.
#
#   ctest -R fuzz_           # in build/host
#   build/host/fuzz/fdt_fuzz -max_total_time=600 /tmp/c tests/fuzz/corpus/fdt tests/data/dtb
find_program(FUZZ_CLANGXX NAMES clang++-14 clang++)
set(FUZZ_SECONDS 20 CACHE STRING "seconds each fuzz target runs under ctest")

if(NOT FUZZ_CLANGXX)
  message(STATUS "fuzz: clang++ not found, libFuzzer targets skipped")
  return()
endif()

set(FUZZ_OUT ${CMAKE_BINARY_DIR}/fuzz)
file(MAKE_DIRECTORY ${FUZZ_OUT})
set(FUZZ_FLAGS -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror
    -I${REPO_ROOT})

# fdt_cmdline_fuzz_target(<name> SOURCES <files...> DEPENDS <headers...>
#                         SEEDS <dirs...> [LIBS <-lx...>])
function(fdt_cmdline_fuzz_target name)
  cmake_parse_arguments(FT "" "" "SOURCES;DEPENDS;SEEDS;LIBS" ${ARGN})
  set(bin ${FUZZ_OUT}/${name})
  add_custom_command(
    OUTPUT ${bin}
    COMMAND ${FUZZ_CLANGXX} ${FUZZ_FLAGS} ${FT_SOURCES} ${FT_LIBS} -o ${bin}
    DEPENDS ${FT_SOURCES} ${FT_DEPENDS}
    COMMENT "clang++ libFuzzer ${name}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${bin})
  set(work ${FUZZ_OUT}/${name}.work)
  add_test(NAME fuzz_${name}
    # sh: $0 = scratch dir, $1 = fuzzer, then the seed directories.
    COMMAND sh -c "w=$0; b=$1; shift; rm -rf \"$w\" && mkdir -p \"$w\" && exec \"$b\" -max_total_time=${FUZZ_SECONDS} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix=\"$w/\" \"$w\" \"$@\""
            ${work} ${bin} ${FT_SEEDS})
  set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
endfunction()

fdt_cmdline_fuzz_target(fdt_fuzz
  SOURCES ${REPO_ROOT}/tests/fuzz/fdt_fuzz.cpp ${REPO_ROOT}/lib/fdt.cpp ${REPO_ROOT}/lib/fdt_boot.cpp
  DEPENDS ${REPO_ROOT}/lib/fdt.h ${REPO_ROOT}/lib/fdt_boot.h ${REPO_ROOT}/lib/types.h
  SEEDS ${REPO_ROOT}/tests/fuzz/corpus/fdt ${REPO_ROOT}/tests/data/dtb
  # libfdt (libfdt-dev) as the differential reference.
  LIBS -lfdt)

fdt_cmdline_fuzz_target(cmdline_fuzz
  SOURCES ${REPO_ROOT}/tests/fuzz/cmdline_fuzz.cpp ${REPO_ROOT}/lib/cmdline.cpp
  DEPENDS ${REPO_ROOT}/lib/cmdline.h
  SEEDS ${REPO_ROOT}/tests/fuzz/corpus/cmdline)
