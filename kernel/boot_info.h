// What the kernel learned at boot and keeps for everyone: the DTB, the
// command line and the switches read from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace k {

// The boot DTB through the linear map, and its size (validated at boot).
const void* boot_dtb();
size_t boot_dtb_size();

struct BootParams {
  std::string_view cmdline;    // /chosen bootargs
  std::string_view selftest;   // selftest= ("all" when absent)
  bool power_off_after_tests;  // selftest.exit=1
};

const BootParams& boot_params();

}  // namespace k
