# libFuzzer targets for the ELF64 validator (lib/elf) and the cpio reader +
# initramfs tree (lib/cpio, fs/initramfs), built by clang++ like the ones in
# fuzz.cmake and run under ctest for a bounded time (FUZZ_SECONDS) from a
# scratch copy of the checked-in seeds, so the corpus is never modified.
# Self-contained: host.cmake includes the tests/fuzz/*.cmake files in name
# order, so this file cannot rely on fuzz.cmake's helper.
#
#   ctest -R 'fuzz_(elf|cpio)'      # in build/host
#   build/host/fuzz/elf_fuzz -max_total_time=600 /tmp/c tests/fuzz/corpus/elf
find_program(ELF_CPIO_FUZZ_CLANGXX NAMES clang++-14 clang++)
set(FUZZ_SECONDS 20 CACHE STRING "seconds each fuzz target runs under ctest")
if(NOT ELF_CPIO_FUZZ_CLANGXX)
  message(STATUS "fuzz: clang++ not found, elf/cpio libFuzzer targets skipped")
  return()
endif()

set(ELF_CPIO_FUZZ_OUT ${CMAKE_BINARY_DIR}/fuzz)
file(MAKE_DIRECTORY ${ELF_CPIO_FUZZ_OUT})
set(ELF_CPIO_FUZZ_FLAGS -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror
    -I${REPO_ROOT})

# elf_cpio_fuzz_target(<name> SOURCES <files...> DEPENDS <headers...> SEEDS <dir>)
function(elf_cpio_fuzz_target name)
  cmake_parse_arguments(FT "" "SEEDS" "SOURCES;DEPENDS" ${ARGN})
  set(bin ${ELF_CPIO_FUZZ_OUT}/${name})
  add_custom_command(
    OUTPUT ${bin}
    COMMAND ${ELF_CPIO_FUZZ_CLANGXX} ${ELF_CPIO_FUZZ_FLAGS} ${FT_SOURCES} -o ${bin}
    DEPENDS ${FT_SOURCES} ${FT_DEPENDS}
    COMMENT "clang++ libFuzzer ${name}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${bin})
  set(work ${ELF_CPIO_FUZZ_OUT}/${name}.work)
  add_test(NAME fuzz_${name}
    # sh: $0 = scratch dir, $1 = fuzzer, $2 = seeds; the seeds are copied
    # into the scratch dir, which is the corpus the fuzzer grows.
    COMMAND sh -c "w=$0; b=$1; rm -rf \"$w\" && mkdir -p \"$w/corpus\" && cp \"$2\"/* \"$w/corpus/\" && exec \"$b\" -max_total_time=${FUZZ_SECONDS} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix=\"$w/\" \"$w/corpus\""
            ${work} ${bin} ${FT_SEEDS})
  set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
endfunction()

elf_cpio_fuzz_target(elf_fuzz
  SOURCES ${REPO_ROOT}/tests/fuzz/elf_fuzz.cpp ${REPO_ROOT}/lib/elf.cpp
  DEPENDS ${REPO_ROOT}/lib/elf.h ${REPO_ROOT}/lib/result.h ${REPO_ROOT}/lib/types.h
  SEEDS ${REPO_ROOT}/tests/fuzz/corpus/elf)

elf_cpio_fuzz_target(cpio_fuzz
  SOURCES ${REPO_ROOT}/tests/fuzz/cpio_fuzz.cpp ${REPO_ROOT}/lib/cpio.cpp
          ${REPO_ROOT}/fs/initramfs.cpp ${REPO_ROOT}/lib/errno.cpp
  DEPENDS ${REPO_ROOT}/lib/cpio.h ${REPO_ROOT}/fs/initramfs.h ${REPO_ROOT}/kernel/printk.h
  SEEDS ${REPO_ROOT}/tests/fuzz/corpus/cpio)
