#include "kernel/oops_test.h"

#include <cstdint>

#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/shell.h"

namespace k {

[[gnu::noinline]] void oops_test_trigger() {
  pr_emerg("oops_test: storing through an unmapped pointer on purpose\n");
  // The first page is never mapped (Linux keeps it unmapped too). The
  // pointer goes through an asm barrier so the compiler cannot see it.
  uintptr_t bad = 0x18;
  asm volatile("" : "+r"(bad));
  *reinterpret_cast<volatile uint64_t*>(bad) = 0xdead;
  panic("oops_test: the store did not fault");
}

}  // namespace k

SHELL_COMMAND(oops, "trigger a deliberate kernel oops (tests crash reporting)") {
  k::oops_test_trigger();
}
