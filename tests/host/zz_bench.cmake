# On-target benchmarks (mm/*_bench.cpp, kernel/bench.h) are kernel-only:
# they read rdinstret and run cross-calls. Host targets that glob mm/*.cpp
# (slab.cmake) must not pick them up; this file sorts after every other
# area (GLOB order), so it sees all targets defined before it. The host
# allocator comparison lives in tests/bench/ (issue 8, item 3).
get_property(_bench_targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
foreach(_t ${_bench_targets})
  get_target_property(_type ${_t} TYPE)
  if(NOT _type STREQUAL "EXECUTABLE" AND NOT _type STREQUAL "STATIC_LIBRARY")
    continue()
  endif()
  get_target_property(_srcs ${_t} SOURCES)
  if(NOT _srcs)
    continue()
  endif()
  set(_kept ${_srcs})
  list(FILTER _kept EXCLUDE REGEX ".*_bench\\.cpp$")
  if(NOT _kept STREQUAL _srcs)
    set_property(TARGET ${_t} PROPERTY SOURCES ${_kept})
  endif()
endforeach()
