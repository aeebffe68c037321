// Device-tree driver matching: each driver declares the `compatible`
// strings it serves with DECLARE_DRIVER; drivers_probe() walks the DT and
// calls probe() for every enabled node that matches.
#pragma once

#include <string_view>

#include "lib/fdt.h"

namespace k {

struct Driver {
  const char* name;
  const char* const* compatible;  // nullptr-terminated
  // Returns true when the device was taken.
  bool (*probe)(const fdt::Fdt& fdt, const fdt::Node& node);
  // Consoles probe first so later drivers' messages reach the UART.
  int order;
};

// Probes drivers whose order is in [first_order, last_order]: 0 consoles,
// 1 platform devices needed at boot (power-off), 2+ devices that need the
// page allocator (interrupt controllers, virtio).
void drivers_probe(const fdt::Fdt& fdt, int first_order, int last_order);

}  // namespace k

#define DECLARE_DRIVER(id, ...) \
  [[gnu::used, gnu::section(".drivers")]] static const ::k::Driver driver_##id { __VA_ARGS__ }
