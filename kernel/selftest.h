// In-kernel self-tests (TESTING.md layer 3).
//
// A test lives next to the code it tests:
//
//   SELFTEST(buddy, alloc_every_order) {
//     KEXPECT(page != nullptr);
//     KEXPECT_EQ(free_before, free_after);
//   }
//
// SELFTEST places a Case record in the `.selftests` linker section; the
// runner (kernel/selftest.cpp) groups cases by suite, selects suites with
// `selftest=` on the command line, and prints KTAP v1.
//
// Leak counters (SELFTEST_COUNTER) are sampled before and after every suite;
// a difference fails the suite with a line naming the counter ("nothing
// lost", TESTING.md).
#pragma once

#include <cstdint>
#include <string_view>

namespace k::selftest {

class Context {
 public:
  // Records a failed expectation; the test goes on unless it returns.
  void fail(const char* file, int line, const char* expr);
  void fail_eq(const char* file, int line, const char* a, const char* b, uint64_t va, uint64_t vb);
  // Marks the test skipped with a reason (KTAP "# SKIP reason").
  void skip(const char* reason) { skip_reason_ = reason; }
  // A KTAP diagnostic line ("# ...") inside the test's output.
  [[gnu::format(printf, 2, 3)]] void diag(const char* fmt, ...);

  bool failed() const { return failures_ != 0; }
  const char* skip_reason() const { return skip_reason_; }
  void reset() {
    failures_ = 0;
    skip_reason_ = nullptr;
  }

 private:
  unsigned failures_ = 0;
  const char* skip_reason_ = nullptr;
};

struct Case {
  const char* suite;
  const char* name;
  void (*fn)(Context&);
};

struct Counter {
  const char* name;
  uint64_t (*read)();
};

struct RunResult {
  unsigned suites = 0;
  unsigned passed = 0;
  unsigned failed = 0;
  unsigned skipped = 0;
};

// Runs the suites named in `selection` ("all", "none", or a comma list).
RunResult run(std::string_view selection);

}  // namespace k::selftest

#define SELFTEST(suite, name)                                                                     \
  static void selftest_fn_##suite##_##name(::k::selftest::Context&);                              \
  [[gnu::used,                                                                                    \
    gnu::section(".selftests")]] static const ::k::selftest::Case selftest_case_##suite##_##name{ \
      #suite, #name, selftest_fn_##suite##_##name};                                               \
  static void selftest_fn_##suite##_##name([[maybe_unused]] ::k::selftest::Context& t)

// Registers a counter that must read the same before and after each suite.
#define SELFTEST_COUNTER(id, fn)                                                            \
  [[gnu::used,                                                                              \
    gnu::section(                                                                           \
        ".selftest_counters")]] static const ::k::selftest::Counter selftest_counter_##id { \
#id, fn                                                                                 \
  }

#define KEXPECT(cond)                               \
  do {                                              \
    if (!(cond)) t.fail(__FILE__, __LINE__, #cond); \
  } while (0)

// Like KEXPECT, but ends the test on failure.
#define KASSERT(cond)                    \
  do {                                   \
    if (!(cond)) {                       \
      t.fail(__FILE__, __LINE__, #cond); \
      return;                            \
    }                                    \
  } while (0)

#define KEXPECT_EQ(a, b)                                                \
  do {                                                                  \
    const auto _ka = (a);                                               \
    const auto _kb = (b);                                               \
    if (!(_ka == _kb))                                                  \
      t.fail_eq(__FILE__, __LINE__, #a, #b, static_cast<uint64_t>(_ka), \
                static_cast<uint64_t>(_kb));                            \
  } while (0)
