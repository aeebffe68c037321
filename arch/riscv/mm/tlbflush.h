// TLB shootdown internals shared by tlbflush.cpp and its self-test.
#pragma once

#include <cstdint>

namespace arch {

// How remote harts are reached.
enum class TlbRemoteMethod { kNone, kSbiRfence, kIpi };
TlbRemoteMethod tlb_remote_method();
// Forces the IPI fallback (self-tests compare both paths); returns the
// previous method.
TlbRemoteMethod tlb_force_remote_method(TlbRemoteMethod m);

// Flushes [start, start+size) (size ~0 = everything) on the online CPUs in
// `cpus` (bit n = logical CPU n; this CPU's bit is ignored), through SBI
// RFENCE or IPIs. Returns how many CPUs were asked.
unsigned remote_flush_tlb_kernel_range(uint64_t cpus, uint64_t start, uint64_t size);

// Counters for diagnostics: shootdowns sent, full flushes chosen.
struct TlbStats {
  uint64_t remote_shootdowns;
  uint64_t full_flushes;
  uint64_t range_flushes;
};
TlbStats tlb_stats();

}  // namespace arch
