// Self-test runner: KTAP v1 output (Documentation/dev-tools/ktap.rst).
//
//   KTAP version 1
//   1..S                      one line per selected suite
//       KTAP version 1
//       # Subtest: <suite>
//       1..N
//       ok 1 <test>
//   ok 1 <suite>
//   # Totals: pass:P fail:F skip:K
//
// Every suite also gets a final "nothing_lost" case comparing each
// registered counter before and after the suite, and every page
// accounting column of every zone (mm/accounting.h: a leak is named by
// category and zone). Like seL4's test runner,
// the runner checks at the end that every registered test ran exactly once
// when "all" was selected.
#include "kernel/selftest.h"

#include <cstdarg>
#include <string_view>

#include "kernel/printk.h"
#include "lib/format.h"
#include "mm/accounting.h"

extern "C" const k::selftest::Case __selftests_start[], __selftests_end[];
extern "C" const k::selftest::Counter __selftest_counters_start[], __selftest_counters_end[];

namespace k::selftest {
namespace {

constexpr size_t kMaxCounters = 32;

bool selected(std::string_view selection, std::string_view suite) {
  if (selection == "all") return true;
  if (selection == "none" || selection.empty()) return false;
  while (!selection.empty()) {
    const size_t comma = selection.find(',');
    const std::string_view item = selection.substr(0, comma);
    if (item == suite) return true;
    if (comma == std::string_view::npos) break;
    selection.remove_prefix(comma + 1);
  }
  return false;
}

// The first case of each suite in section order (suites are contiguous per
// object file but one suite may span files, so compare by name).
bool first_of_suite(const Case* c) {
  for (const Case* p = __selftests_start; p < c; ++p)
    if (std::string_view(p->suite) == c->suite) return false;
  return true;
}

size_t count_counters() {
  const size_t n = static_cast<size_t>(__selftest_counters_end - __selftest_counters_start);
  return n < kMaxCounters ? n : kMaxCounters;
}

void read_counters(uint64_t* out) {
  // Lazily freed vmalloc ranges hold page-table pages until a purge, empty
  // slabs and a spare per-CPU chunk stay cached; like draining the pcp
  // lists, dropping them first makes the counters comparable.
  k::mm_accounting_quiesce();
  for (size_t i = 0; i < count_counters(); ++i) out[i] = __selftest_counters_start[i].read();
}

// The page accounting before the running suite (too large for a stack).
MmAccountingSnapshot g_acct_before;

void print_acct_line(void*, const char* line) { printk_raw("        # mm accounting: %s\n", line); }

}  // namespace

void Context::fail(const char* file, int line, const char* expr) {
  ++failures_;
  printk_raw("        # %s:%d: expectation failed: %s\n", file, line, expr);
}

void Context::fail_eq(const char* file, int line, const char* a, const char* b, uint64_t va,
                      uint64_t vb) {
  ++failures_;
  printk_raw("        # %s:%d: expected %s == %s, got %llu (0x%llx) vs %llu (0x%llx)\n", file, line,
             a, b, static_cast<unsigned long long>(va), static_cast<unsigned long long>(va),
             static_cast<unsigned long long>(vb), static_cast<unsigned long long>(vb));
}

void Context::diag(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  printk_raw("    # %s\n", buf);
}

RunResult run(std::string_view selection) {
  RunResult total;
  unsigned nsuites = 0;
  for (const Case* c = __selftests_start; c < __selftests_end; ++c)
    if (first_of_suite(c) && selected(selection, c->suite)) ++nsuites;

  // With "all", a last top-level result checks that every registered test
  // ran exactly once (a registry or selection bug cannot hide tests).
  const bool check_all = selection == "all";
  printk_raw("KTAP version 1\n1..%u\n", nsuites + (check_all ? 1 : 0));
  unsigned suite_no = 0;
  unsigned ran = 0;
  for (const Case* s = __selftests_start; s < __selftests_end; ++s) {
    if (!first_of_suite(s) || !selected(selection, s->suite)) continue;
    const std::string_view suite(s->suite);
    unsigned ncases = 0;
    for (const Case* c = s; c < __selftests_end; ++c)
      if (suite == c->suite) ++ncases;
    ++suite_no;
    printk_raw("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", s->suite, ncases + 1);

    uint64_t before[kMaxCounters], after[kMaxCounters];
    read_counters(before);
    mm_accounting_snapshot(&g_acct_before);
    bool suite_failed = false;
    unsigned case_no = 0;
    for (const Case* c = s; c < __selftests_end; ++c) {
      if (suite != c->suite) continue;
      Context t;
      c->fn(t);
      ++ran;
      ++case_no;
      if (t.failed()) {
        printk_raw("    not ok %u %s\n", case_no, c->name);
        suite_failed = true;
        ++total.failed;
      } else if (t.skip_reason()) {
        printk_raw("    ok %u %s # SKIP %s\n", case_no, c->name, t.skip_reason());
        ++total.skipped;
      } else {
        printk_raw("    ok %u %s\n", case_no, c->name);
        ++total.passed;
      }
    }
    // Nothing lost: every counter reads what it read before the suite.
    read_counters(after);
    bool lost = false;
    for (size_t i = 0; i < count_counters(); ++i) {
      if (before[i] != after[i]) {
        printk_raw("        # %s: %llu before the suite, %llu after\n",
                   __selftest_counters_start[i].name, static_cast<unsigned long long>(before[i]),
                   static_cast<unsigned long long>(after[i]));
        lost = true;
      }
    }
    if (!mm_accounting_verify(g_acct_before, print_acct_line, nullptr)) lost = true;
    ++case_no;
    if (lost) {
      printk_raw("    not ok %u nothing_lost\n", case_no);
      ++total.failed;
      suite_failed = true;
    } else {
      printk_raw("    ok %u nothing_lost\n", case_no);
      ++total.passed;
    }
    printk_raw("%s %u %s\n", suite_failed ? "not ok" : "ok", suite_no, s->suite);
  }
  total.suites = nsuites;
  if (check_all) {
    const unsigned registered = static_cast<unsigned>(__selftests_end - __selftests_start);
    if (ran != registered) {
      printk_raw("# runner: %u tests registered but %u ran\n", registered, ran);
      printk_raw("not ok %u all_registered_tests_ran\n", suite_no + 1);
      ++total.failed;
    } else {
      printk_raw("ok %u all_registered_tests_ran\n", suite_no + 1);
      ++total.passed;
    }
  }
  printk_raw("# Totals: pass:%u fail:%u skip:%u\n", total.passed, total.failed, total.skipped);
  return total;
}

}  // namespace k::selftest
