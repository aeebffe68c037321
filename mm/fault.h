// User page faults (Linux mm/memory.c handle_mm_fault and friends): find
// the VMA, check the access against it, then populate or fix the PTE —
// zero-filled anonymous pages, private copies of file bytes, stack growth
// with a guard gap, A/D updates for harts that fault instead of setting
// them (SiFive U74), and copy-on-write breaking.
#pragma once

#include <cstdint>

namespace k {

struct MmStruct;

enum class FaultAccess { kRead, kWrite, kExec };

enum class FaultResult {
  kOk,
  kSegvMapErr,  // no VMA (SIGSEGV, SEGV_MAPERR)
  kSegvAccErr,  // VMA forbids the access (SIGSEGV, SEGV_ACCERR)
  kBus,         // past the end of the file behind a mapping (SIGBUS)
  kOom,         // no memory for the page or a table
};

const char* fault_result_name(FaultResult r);

// Allocates the shared zero page: read faults on anonymous memory map it
// read-only (Linux's ZERO_PAGE), so reading untouched memory costs no RSS.
// false without memory.
bool fault_init();
// Physical address of the zero page (0 before fault_init).
uint64_t zero_page_phys();

// Resolves a fault at `addr` in `mm` (takes the mm lock).
FaultResult handle_mm_fault(MmStruct* mm, uint64_t addr, FaultAccess access);

// Present with the access allowed already, or made so by a fault.
// The uaccess fault-in hook for the current process.
bool fault_in_user_page(MmStruct* mm, uint64_t addr, bool write);

}  // namespace k
