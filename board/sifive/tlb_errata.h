// Switches the SiFive TLB erratum workaround (board/sifive/errata.h) on
// the running hart's marchid/mimpid, read through SBI BASE.
#pragma once

namespace k::sifive {

// Reads marchid/mimpid (SBI BASE functions 5 and 6, SBI spec v1.0 section
// 4.6/4.7) and turns on the flush-all TLB quirk when CIP-1200 applies, or
// when the firmware cannot say (SBI < 0.2): a full flush is always
// correct, only slower. Returns whether the quirk was turned on.
bool apply_tlb_errata(const char* board);

}  // namespace k::sifive
