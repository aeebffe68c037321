// Shell commands for page accounting and fault injection:
//   memacct                 the per-zone accounting table and its checks
//   faultinject             every fault point's attributes and statistics
//   faultinject <name> <interval>,<probability>,<space>,<times>
//   faultinject <name> off
#include <string_view>

#include "kernel/printk.h"
#include "kernel/shell.h"
#include "mm/accounting.h"
#include "mm/fault_inject.h"

namespace {

void print_line(void*, const char* line) { k::printk_raw("  %s\n", line); }

void show_attr(const k::FaultAttr& a) {
  k::printk_raw(
      "%-16s probability %3u%% interval %llu space %lld times %lld calls %llu injected %llu\n",
      a.name, a.probability.load(), static_cast<unsigned long long>(a.interval.load()),
      static_cast<long long>(a.space.load()), static_cast<long long>(a.times.load()),
      static_cast<unsigned long long>(a.calls.load()),
      static_cast<unsigned long long>(a.injected.load()));
}

}  // namespace

SHELL_COMMAND(memacct, "where every page is: per-zone accounting table and checks") {
  k::mm_accounting_show();
  if (!k::mm_accounting_check(print_line, nullptr)) {
    k::printk_raw("accounting check: FAILED\n");
    return 1;
  }
  k::printk_raw("accounting check: ok\n");
  return 0;
}

SHELL_COMMAND(faultinject, "fault injection: [<name> <interval>,<prob>,<space>,<times>|off]") {
  if (argc == 1) {
    for (const char* n : {"fail_page_alloc", "failslab", "fail_vmalloc", "fail_swiotlb"})
      show_attr(*k::fault_attr_by_name(n));
    return 0;
  }
  k::FaultAttr* a = argc == 3 ? k::fault_attr_by_name(argv[1]) : nullptr;
  if (!a) {
    k::printk_raw("usage: faultinject [<name> <interval>,<probability>,<space>,<times>|off]\n");
    return 1;
  }
  if (std::string_view(argv[2]) == "off") {
    k::fault_attr_reset(*a);
  } else if (!k::fault_attr_parse(*a, argv[2])) {
    k::printk_raw("faultinject: bad attributes '%s'\n", argv[2]);
    return 1;
  }
  show_attr(*a);
  return 0;
}
