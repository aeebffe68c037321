// Benchmark runner: KTAP v1 around per-benchmark diagnostic lines.
//
//   KTAP version 1
//   # Subtest: bench
//   1..C                                   one line per selected case
//   # bench alloc_page_pcp: 41.0 instr/op (min 38, max 212, n 10000)
//   ok 1 page_alloc
//   ...
//   # bench summary: R results (instructions per operation)
//   #   name                         mean        min        max       n
//   # Totals: pass:P fail:F skip:S
//
// A case that prints no result and does not skip is "not ok": a benchmark
// that silently measures nothing has rotted.
#include "kernel/bench.h"

#include <cstdarg>
#include <string_view>

#include <atomic>

#include "arch/riscv/kernel/smp.h"
#include "kernel/boot_info.h"
#include "kernel/printk.h"
#include "lib/cmdline.h"
#include "lib/format.h"
#include "lib/string.h"

extern "C" const k::bench::Case __benches_start[], __benches_end[];

namespace k::bench {

BootMarks g_boot_marks;

namespace {

constexpr size_t kMaxResults = 128;
constexpr size_t kNameLen = 40;

struct Row {
  char name[kNameLen];
  uint64_t mean_x10;
  uint64_t min, max, n;
  bool per_op;
};

Row g_rows[kMaxResults];
size_t g_nrows;
// Instructions counted by an empty measurement (two counter reads).
uint64_t g_overhead;

// `all`, a list of names, or `all` followed by names to leave out, each
// with a leading '-' (`bench=all,-proc_faults`: benchmarks that change
// the allocator's state run in a boot of their own).
bool selected(std::string_view selection, std::string_view name) {
  bool in = false;
  while (!selection.empty()) {
    const size_t comma = selection.find(',');
    const std::string_view item = selection.substr(0, comma);
    if (item == "all" || item == name) in = true;
    if (item.size() > 1 && item[0] == '-' && item.substr(1) == name) return false;
    if (comma == std::string_view::npos) break;
    selection.remove_prefix(comma + 1);
  }
  return in;
}

// Names in the selection that match no case: a typo must not pass as
// "nothing to run".
unsigned report_unknown(std::string_view selection) {
  if (selection == "all") return 0;
  unsigned unknown = 0;
  while (!selection.empty()) {
    const size_t comma = selection.find(',');
    std::string_view item = selection.substr(0, comma);
    if (item.size() > 1 && item[0] == '-') item.remove_prefix(1);
    bool found = item == "all";
    for (const Case* c = __benches_start; c < __benches_end; ++c) found |= item == c->name;
    if (!found && !item.empty()) {
      printk_raw("# bench: no benchmark named '%.*s'\n", static_cast<int>(item.size()),
                 item.data());
      ++unknown;
    }
    if (comma == std::string_view::npos) break;
    selection.remove_prefix(comma + 1);
  }
  return unknown;
}

void calibrate() {
  uint64_t best = ~uint64_t{0};
  for (int i = 0; i < 64; ++i) {
    const uint64_t t0 = Context::now();
    const uint64_t d = Context::now() - t0;
    if (d < best) best = d;
  }
  g_overhead = best;
}

Row* add_row(const char* name) {
  if (g_nrows == kMaxResults) return nullptr;
  Row& r = g_rows[g_nrows++];
  const size_t len = strnlen(name, kNameLen - 1);
  memcpy(r.name, name, len);
  r.name[len] = '\0';
  return &r;
}

void print_summary() {
  printk_raw("# bench summary: %zu results, retired instructions (mean per operation)\n", g_nrows);
  printk_raw("#   %-34s %12s %10s %10s %8s\n", "name", "mean", "min", "max", "n");
  for (size_t i = 0; i < g_nrows; ++i) {
    const Row& r = g_rows[i];
    if (r.per_op)
      printk_raw("#   %-34s %10llu.%llu %10llu %10llu %8llu\n", r.name,
                 static_cast<unsigned long long>(r.mean_x10 / 10),
                 static_cast<unsigned long long>(r.mean_x10 % 10),
                 static_cast<unsigned long long>(r.min), static_cast<unsigned long long>(r.max),
                 static_cast<unsigned long long>(r.n));
    else
      printk_raw("#   %-34s %10llu.%llu %10s %10s %8s\n", r.name,
                 static_cast<unsigned long long>(r.mean_x10 / 10),
                 static_cast<unsigned long long>(r.mean_x10 % 10), "-", "-", "-");
  }
}

// The state of one scaling point, shared with the harts that run it.
struct SmpRun {
  const SmpWork* work;
  unsigned harts;
  uint64_t rounds;
  std::atomic<uint64_t> instret[kSmpMaxHarts];
  std::atomic<uint64_t> ops;
  std::atomic<unsigned> finished;
  std::atomic<bool> failed;
};
SmpRun g_smp_run;

void smp_worker(void* arg) {
  auto* run = static_cast<SmpRun*>(arg);
  const unsigned cpu = arch::this_cpu();
  if (cpu >= run->harts) return;
  const SmpWork& w = *run->work;
  const uint64_t t0 = Context::now();
  uint64_t ops = 0;
  for (uint64_t r = 0; r < run->rounds; ++r) {
    if (!w.round(w.ctx, cpu)) {
      run->failed.store(true);
      break;
    }
    ops += w.ops_per_round;
  }
  run->instret[cpu].store(Context::now() - t0);
  run->ops.fetch_add(ops);
  run->finished.fetch_add(1, std::memory_order_release);
}

}  // namespace

void measure_smp(Context& b, const SmpWork& w) {
  const unsigned online = arch::nr_online_cpus();
  static constexpr unsigned kHarts[] = {1, 2, 4, kSmpMaxHarts};
  static_assert(kHarts[3] == kSmpMaxHarts);
  char name[kNameLen];
  for (unsigned harts : kHarts) {
    if (harts > online) {
      b.diag("%s: %u harts online, %u-hart point not measured", w.name, online, harts);
      break;
    }
    SmpRun& run = g_smp_run;
    run.work = &w;
    run.harts = harts;
    run.rounds = b.iters(16);
    run.ops.store(0);
    run.finished.store(0);
    run.failed.store(false);
    for (auto& c : run.instret) c.store(0);
    if (w.before) w.before(w.ctx);
    const uint64_t t0 = Context::now();
    arch::smp_call_all_concurrently(smp_worker, &run);
    // The cross-call gives up waiting after 10 s of (virtual) time; the
    // workers may still be running then, so wait for every one.
    while (run.finished.load(std::memory_order_acquire) < harts) arch::cpu_relax();
    const uint64_t wall = Context::now() - t0;
    if (run.failed.load()) return b.fail("%s: an operation failed with %u harts", w.name, harts);
    Stats per_hart;
    const uint64_t per_hart_ops = run.rounds * w.ops_per_round;
    for (unsigned c = 0; c < harts; ++c) per_hart.add(run.instret[c].load() / per_hart_ops);
    Stats all;
    all.batched = true;  // one timed region: min/max are the per-hart figures
    all.total = wall;
    all.n = run.ops.load();
    all.min = per_hart.min;
    all.max = per_hart.max;
    snformat(name, sizeof(name), "%s_%uh", w.name, harts);
    b.report(name, all);
    if (w.after) w.after(b, w.ctx, name, run.ops.load());
  }
}

void Context::report(const char* name, const Stats& s) {
  ++results_;
  if (s.n == 0) {
    fail("%s: no samples", name);
    return;
  }
  const uint64_t off = g_overhead;
  const uint64_t reads = s.batched ? 1 : s.n;
  const uint64_t total = s.total > off * reads ? s.total - off * reads : 0;
  const uint64_t min = s.batched ? s.min : (s.min > off ? s.min - off : 0);
  const uint64_t max = s.batched ? s.max : (s.max > off ? s.max - off : 0);
  const uint64_t mean_x10 = (total * 10 + s.n / 2) / s.n;
  printk_raw("# bench %s: %llu.%llu instr/op (min %llu, max %llu, n %llu)\n", name,
             static_cast<unsigned long long>(mean_x10 / 10),
             static_cast<unsigned long long>(mean_x10 % 10), static_cast<unsigned long long>(min),
             static_cast<unsigned long long>(max), static_cast<unsigned long long>(s.n));
  if (Row* r = add_row(name)) {
    r->mean_x10 = mean_x10;
    r->min = min;
    r->max = max;
    r->n = s.n;
    r->per_op = true;
  }
}

void Context::report_value(const char* name, uint64_t value_x10, const char* fmt, ...) {
  ++results_;
  char buf[160];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  printk_raw("# bench %s: %llu.%llu %s\n", name, static_cast<unsigned long long>(value_x10 / 10),
             static_cast<unsigned long long>(value_x10 % 10), buf);
  if (Row* r = add_row(name)) {
    r->mean_x10 = value_x10;
    r->min = r->max = r->n = 0;
    r->per_op = false;
  }
}

void Context::fail(const char* fmt, ...) {
  failed_ = true;
  char buf[160];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  printk_raw("# bench error: %s\n", buf);
}

void Context::diag(const char* fmt, ...) {
  char buf[200];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  printk_raw("# %s\n", buf);
}

unsigned run(std::string_view selection) {
  const std::string_view cmdline = boot_params().cmdline;
  const std::string_view iters = cmdline_get(cmdline, "bench.iters").value_or("normal");
  const bool tiny = iters == "tiny";
  if (!tiny && iters != "normal")
    printk_raw("# bench: bench.iters=%.*s is not tiny|normal; using normal\n",
               static_cast<int>(iters.size()), iters.data());
  if (auto v = cmdline_get(cmdline, "bench.icount_shift"))
    if (auto shift = parse_u64(*v); shift && *shift < 16)
      Context::set_shift(static_cast<unsigned>(*shift));
  g_nrows = 0;
  calibrate();

  unsigned ncases = 0;
  for (const Case* c = __benches_start; c < __benches_end; ++c)
    if (selected(selection, c->name)) ++ncases;
  const unsigned unknown = report_unknown(selection);

  printk_raw("KTAP version 1\n# Subtest: bench\n1..%u\n", ncases);
  printk_raw("# bench: iterations %s, counter overhead %llu instructions (subtracted)\n",
             tiny ? "tiny" : "normal", static_cast<unsigned long long>(g_overhead));
  unsigned n = 0, pass = 0, fail = 0, skip = 0;
  for (const Case* c = __benches_start; c < __benches_end; ++c) {
    if (!selected(selection, c->name)) continue;
    Context b(tiny);
    c->fn(b);
    ++n;
    if (!b.failed() && !b.skip_reason() && b.results() == 0) b.fail("printed no result");
    if (b.failed()) {
      printk_raw("not ok %u %s\n", n, c->name);
      ++fail;
    } else if (b.skip_reason()) {
      printk_raw("ok %u %s # SKIP %s\n", n, c->name, b.skip_reason());
      ++skip;
    } else {
      printk_raw("ok %u %s\n", n, c->name);
      ++pass;
    }
  }
  print_summary();
  printk_raw("# Totals: pass:%u fail:%u skip:%u\n", pass, fail + unknown, skip);
  return fail + unknown;
}

}  // namespace k::bench
