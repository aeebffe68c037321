#include "drivers/driver.h"

#include "kernel/printk.h"

extern "C" const k::Driver __drivers_start[], __drivers_end[];

namespace k {
namespace {

bool matches(const Driver& d, const fdt::Node& n) {
  for (const char* const* c = d.compatible; *c; ++c)
    if (fdt::Fdt::is_compatible(n, *c)) return true;
  return false;
}

}  // namespace

void drivers_probe(const fdt::Fdt& fdt, int first_order, int last_order) {
  for (int order = first_order; order <= last_order; ++order) {
    fdt.for_each_node([&](fdt::Node n) {
      if (!fdt::Fdt::status_okay(n)) return;
      for (const Driver* d = __drivers_start; d < __drivers_end; ++d) {
        if (d->order != order || !matches(*d, n)) continue;
        if (d->probe(fdt, n)) {
          pr_info("%s: bound to %.*s\n", d->name, static_cast<int>(n.name().size()),
                  n.name().data());
          break;
        }
      }
    });
  }
}

}  // namespace k
