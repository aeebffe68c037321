// Arch interface: machine-level services generic kernel code calls.
#pragma once

#include <cstdint>

namespace arch {

// Powers the machine off; `failure` selects the failure status where the
// platform can report one (QEMU sifive,test0: exit code 1). Never returns.
[[noreturn]] void power_off(bool failure);
[[noreturn]] void reboot();
// Stops this hart for good (interrupts off, wfi loop).
[[noreturn]] void halt_this_hart();

// Asks every other online hart to stop (panic path).
void stop_other_harts();

// Timebase of the `time` CSR in Hz (from the DT /cpus timebase-frequency).
uint64_t timebase_hz();
// Nanoseconds since boot from the `time` CSR.
uint64_t uptime_ns();

}  // namespace arch
