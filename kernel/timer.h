// Tick-driven time keeping.
#pragma once

#include <cstdint>

namespace k {

// Tick rate of the periodic timer (Linux CONFIG_HZ=100 class).
inline constexpr unsigned kHz = 100;

// Called on every hart's timer interrupt (scheduler hooks in later).
void timer_tick();
// Global tick count since boot (incremented by the boot hart's tick).
uint64_t jiffies();

}  // namespace k
