// Instruction stamps on the user page-fault path, for the process
// benchmarks (kernel/proc/proc_bench.cpp runs tests/user/bench_proc.c;
// issue 8 item 1). Kernel only.
//
// The benchmark program reads rdinstret just before and just after one
// faulting access. To split that total into trap entry, handler and
// return, and to take the 4 KiB clear (or copy) out of the handler, the
// kernel stamps faults whose address lies inside a window the benchmark
// sets, and no others:
//
//   page_fault_trap (kernel/proc/process.cpp) reads instret just before
//   and just after handle_mm_fault; fill_new_page and the copy-on-write
//   copy (mm/fault.cpp) time the page fill. The figures go back to the
//   faulting program in its saved registers, which the trap return
//   restores:
//     t3 (x28) = instructions of the 4 KiB fill (clear or copy; 0 if none)
//     t4 (x29) = instret at handler entry
//     t5 (x30) = instret at handler exit
//   The program asks for the stamps by putting kRequest in t3 before the
//   access (its inline assembly names t3-t5 as outputs): other faults in
//   the window, from plain C code with live values in t3-t5, are left
//   alone.
//
// Why registers: the program already has its own two readings; with the
// kernel's two it can print entry = t4 - before, handler = t5 - t4,
// return = after - t5 for every sample, with no channel to set up and no
// buffer to copy. Only the benchmark maps memory in the window, and only
// while the benchmark case runs (one process at a time faults there).
//
// Off (window length 0, the default) each check costs a load, a subtract,
// a compare and a branch not taken.
#pragma once

#include <arch/cpu.h>

#include <atomic>
#include <cstdint>

namespace k::fault_bench {

inline std::atomic<uint64_t> g_window_start{0};
inline std::atomic<uint64_t> g_window_len{0};
// Instructions of the last stamped fill (written with the mm lock held by
// the faulting task, read by the same task right after).
inline std::atomic<uint64_t> g_last_fill{0};

// t3 of an access that asks for stamps ("STAMPFLT", little-endian ASCII).
inline constexpr uint64_t kRequest = 0x544c46504d415453ull;

// Whether a fault at `addr` is in the window (its page fill is timed).
inline bool stamped(uint64_t addr) {
  return addr - g_window_start.load(std::memory_order_relaxed) <
         g_window_len.load(std::memory_order_relaxed);
}

// Whether a user fault at `addr` with `t3` in its frame gets the stamps.
inline bool requested(uint64_t addr, uint64_t t3) { return stamped(addr) && t3 == kRequest; }

// Sets the window ([start, start + len); len 0 turns stamping off).
inline void set_window(uint64_t start, uint64_t len) {
  g_window_len.store(0, std::memory_order_relaxed);
  g_window_start.store(start, std::memory_order_relaxed);
  g_window_len.store(len, std::memory_order_relaxed);
}

// Handler entry: returns the stamp.
inline uint64_t begin() {
  g_last_fill.store(0, std::memory_order_relaxed);
  return arch::read_instret();
}

// Handler exit: writes fill, entry stamp and exit stamp to t3..t5 (the
// three consecutive saved registers x28..x30 of the trap frame).
inline void end(uint64_t entry, uint64_t* t3_to_t5) {
  const uint64_t exit = arch::read_instret();
  t3_to_t5[0] = g_last_fill.load(std::memory_order_relaxed);
  t3_to_t5[1] = entry;
  t3_to_t5[2] = exit;
}

// Times fill() (a 4 KiB clear or copy) when `timed`.
template <typename Fill>
inline void timed_fill(bool timed, Fill&& fill) {
  if (!timed) return fill();
  const uint64_t t0 = arch::read_instret();
  fill();
  g_last_fill.store(arch::read_instret() - t0, std::memory_order_relaxed);
}

}  // namespace k::fault_bench
