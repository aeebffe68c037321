// In-kernel benchmarks (issue 8; TESTING.md "Benchmarks are not tests").
//
// A benchmark lives next to the code it measures, in a *_bench.cpp file:
//
//   BENCH(page_alloc) {
//     b.measure("alloc_page_pcp", b.iters(10000), [] {
//       __free_page(alloc_page(GFP_KERNEL));
//     });
//   }
//
// BENCH places a Case record in the `.benches` linker section; the runner
// (kernel/bench.cpp) selects cases with `bench=all` or `bench=name,name`
// on the command line and prints, for every measured operation, one
// KTAP diagnostic line
//
//   # bench <name>: <mean> instr/op (min <min>, max <max>, n <iters>)
//
// (bench/run.py parses exactly this format), then "ok N <case>" (or
// "not ok", or "# SKIP reason"), and at the end a table of every result.
//
// Figures are retired instructions (rdinstret). Under QEMU with
// `-icount shift=0,sleep=off` they are deterministic; on a board, use the
// cycle counter instead (Context::now() is the one place to change).
// `bench.iters=tiny` runs every loop a handful of times: the smoke test
// that keeps benchmarks from rotting, not a measurement.
#pragma once

#include <cstdint>
#include <string_view>

#include <arch/cpu.h>

namespace k::bench {

// Per-operation samples of one benchmark.
struct Stats {
  uint64_t total = 0;
  uint64_t min = ~uint64_t{0};
  uint64_t max = 0;
  uint64_t n = 0;
  // Set when total was read as one region around all n operations (then
  // min and max, if set, are already net figures).
  bool batched = false;
  void add(uint64_t v) {
    total += v;
    if (v < min) min = v;
    if (v > max) max = v;
    ++n;
  }
};

class Context {
 public:
  explicit Context(bool tiny) : tiny_(tiny) {}

  bool tiny() const { return tiny_; }
  // `normal` iterations, or at most kTinyIters with bench.iters=tiny.
  uint64_t iters(uint64_t normal) const {
    return tiny_ && normal > kTinyIters ? kTinyIters : normal;
  }
  // A size parameter (background load, table length): `normal`, or `tiny`.
  uint64_t scale(uint64_t normal, uint64_t tiny) const { return tiny_ ? tiny : normal; }

  // The counter every figure is read from. Under `-icount shift=N` QEMU's
  // instret advances 2^N per instruction (it is the virtual clock in ns);
  // bench/run.py passes `bench.icount_shift=N` so figures stay
  // instructions. Multi-hart configurations need N > 0: with shift 0 a
  // round-robin slice is 10^8 instructions and every cross-hart handshake
  // spins for a whole slice.
  static uint64_t now() { return arch::read_instret() >> shift_; }
  static void set_shift(unsigned s) { shift_ = s; }
  static unsigned shift() { return shift_; }

  // Runs op() n times, each call timed on its own; reports mean/min/max.
  template <typename Op>
  void measure(const char* name, uint64_t n, Op&& op) {
    Stats s;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t t0 = now();
      op();
      s.add(now() - t0);
    }
    report(name, s);
  }

  // Prints the result line of one benchmark. The cost of reading the
  // counter twice (calibrated at start-up) is taken off every sample.
  void report(const char* name, const Stats& s);
  // A figure that is not per operation, given in tenths: the value, then
  // the rest of the line from fmt, e.g. report_value("boot_mm_init",
  // 50000000, "instr, %llu pages, ...", pages) prints
  //   # bench boot_mm_init: 5000000.0 instr, 131072 pages, ...
  // The value goes into the summary table and the CSV as the mean.
  [[gnu::format(printf, 4, 5)]] void report_value(const char* name, uint64_t value_x10,
                                                  const char* fmt, ...);
  // The case could not do what it measures: the case is "not ok".
  [[gnu::format(printf, 2, 3)]] void fail(const char* fmt, ...);
  // The case does not apply here (too few harts, no DMA API): "# SKIP".
  void skip(const char* reason) { skip_reason_ = reason; }
  // Result lines were printed on the case's behalf by a user program in
  // the same format (kernel/proc/proc_bench.cpp): the case has results,
  // which bench/run.py reads from the console; the summary table below
  // lists only the kernel's own.
  void note_program_results(unsigned n) { results_ += n; }
  // A KTAP diagnostic line ("# ...").
  [[gnu::format(printf, 2, 3)]] void diag(const char* fmt, ...);

  bool failed() const { return failed_; }
  const char* skip_reason() const { return skip_reason_; }
  unsigned results() const { return results_; }

  static constexpr uint64_t kTinyIters = 4;

 private:
  static inline unsigned shift_ = 0;
  bool tiny_;
  bool failed_ = false;
  const char* skip_reason_ = nullptr;
  unsigned results_ = 0;
};

struct Case {
  const char* name;
  void (*fn)(Context&);
};

// ---- scaling with harts (issue 8 item 2) ----
// The most harts a scaling curve goes to (points 1, 2, 4, 8).
inline constexpr unsigned kSmpMaxHarts = 8;

// Work that every participating hart does at the same time: `round` runs
// `rounds` times on each of the harts 0 .. harts-1 (cpu says which; it is
// below kSmpMaxHarts) and does `ops_per_round` operations; false = an
// operation failed. `before`/`after`, if set, run on the measuring hart
// around each point (after: extra report lines for the point, e.g. lock
// counts, given the point's name and operation count).
struct SmpWork {
  const char* name;  // results are named "<name>_<harts>h"
  uint64_t ops_per_round;
  bool (*round)(void* ctx, unsigned cpu);
  void* ctx = nullptr;
  void (*before)(void* ctx) = nullptr;
  void (*after)(Context& b, void* ctx, const char* point, uint64_t ops) = nullptr;
};

// Runs `w` on 1, 2, 4 and 8 harts at once (the points with enough harts
// online; the others get a diagnostic line), b.iters(16) rounds per hart,
// and reports per point the whole machine's instructions per operation
// (one timed region; min/max are the per-hart figures). Under QEMU -icount
// every hart's counter advances with one virtual clock, so the whole-
// machine figure (spinning included) is the one of record. A failed round
// fails the case (b.fail) and stops.
void measure_smp(Context& b, const SmpWork& w);

// Runs the cases named in `selection` ("all" or a comma list); iteration
// counts from `bench.iters=` (tiny|normal) on the kernel command line.
// Returns the number of failed cases.
unsigned run(std::string_view selection);

// Instructions retired at points of the boot (kernel/main.cpp records
// them): entry of kernel_main, just before the page allocator is set up,
// and just after (buddy ready). 0 = not recorded.
struct BootMarks {
  uint64_t entry;
  uint64_t page_alloc_start;
  uint64_t buddy_ready;
};
extern BootMarks g_boot_marks;

}  // namespace k::bench

#define BENCH(name)                                                                        \
  static void bench_fn_##name(::k::bench::Context&);                                       \
  [[gnu::used, gnu::section(".benches")]] static const ::k::bench::Case bench_case_##name{ \
      #name, bench_fn_##name};                                                             \
  static void bench_fn_##name([[maybe_unused]] ::k::bench::Context& b)
