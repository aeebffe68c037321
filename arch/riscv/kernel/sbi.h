// Supervisor Binary Interface calls (RISC-V SBI spec v1.0/v2.0).
// Calling convention (spec 3): a7 = EID, a6 = FID, a0..a5 arguments;
// returns a0 = error, a1 = value. Header-only so early boot (MMU off) can
// use it without any absolute addresses.
#pragma once

#include <cstdint>

namespace arch::sbi {

// Extension ids (spec chapters 4-10, 12).
inline constexpr long kBase = 0x10;
inline constexpr long kTime = 0x54494D45;
inline constexpr long kIpi = 0x735049;
inline constexpr long kRfence = 0x52464E43;
inline constexpr long kHsm = 0x48534D;
inline constexpr long kSrst = 0x53525354;
inline constexpr long kPmu = 0x504D55;
inline constexpr long kDbcn = 0x4442434E;
inline constexpr long kLegacyPutchar = 0x01;
inline constexpr long kLegacyGetchar = 0x02;
inline constexpr long kLegacyShutdown = 0x08;

// Standard error codes (spec 3, table 1).
inline constexpr long kSuccess = 0;
inline constexpr long kErrFailed = -1;
inline constexpr long kErrNotSupported = -2;
inline constexpr long kErrInvalidParam = -3;
inline constexpr long kErrDenied = -4;
inline constexpr long kErrInvalidAddress = -5;
inline constexpr long kErrAlreadyAvailable = -6;
inline constexpr long kErrAlreadyStarted = -7;
inline constexpr long kErrAlreadyStopped = -8;

struct Ret {
  long error;
  long value;
};

inline Ret call(long eid, long fid, unsigned long a0 = 0, unsigned long a1 = 0,
                unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0,
                unsigned long a5 = 0) {
  register unsigned long r0 asm("a0") = a0;
  register unsigned long r1 asm("a1") = a1;
  register unsigned long r2 asm("a2") = a2;
  register unsigned long r3 asm("a3") = a3;
  register unsigned long r4 asm("a4") = a4;
  register unsigned long r5 asm("a5") = a5;
  register unsigned long r6 asm("a6") = static_cast<unsigned long>(fid);
  register unsigned long r7 asm("a7") = static_cast<unsigned long>(eid);
  asm volatile("ecall"
               : "+r"(r0), "+r"(r1)
               : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
               : "memory");
  return {static_cast<long>(r0), static_cast<long>(r1)};
}

// Legacy console (v0.1 extensions, spec 5): the one console every firmware
// we meet has (OpenSBI 1.1 and the VisionFive 2 factory firmware lack DBCN).
inline void legacy_putchar(char c) { call(kLegacyPutchar, 0, static_cast<unsigned char>(c)); }
inline int legacy_getchar() { return static_cast<int>(call(kLegacyGetchar, 0).error); }

// BASE (spec 4).
inline long spec_version() { return call(kBase, 0).value; }
inline long impl_id() { return call(kBase, 1).value; }
inline long impl_version() { return call(kBase, 2).value; }
inline bool probe(long eid) { return call(kBase, 3, static_cast<unsigned long>(eid)).value != 0; }

// TIME (spec 6).
inline long set_timer(uint64_t stime) { return call(kTime, 0, stime).error; }
// IPI (spec 7): hart_mask is relative to hart_mask_base.
inline long send_ipi(unsigned long mask, unsigned long base) {
  return call(kIpi, 0, mask, base).error;
}
// RFENCE (spec 8).
inline long remote_fence_i(unsigned long mask, unsigned long base) {
  return call(kRfence, 0, mask, base).error;
}
inline long remote_sfence_vma(unsigned long mask, unsigned long base, uint64_t start,
                              uint64_t size) {
  return call(kRfence, 1, mask, base, start, size).error;
}
inline long remote_sfence_vma_asid(unsigned long mask, unsigned long base, uint64_t start,
                                   uint64_t size, unsigned long asid) {
  return call(kRfence, 2, mask, base, start, size, asid).error;
}
// HSM (spec 9).
inline long hart_start(unsigned long hartid, unsigned long addr, unsigned long opaque) {
  return call(kHsm, 0, hartid, addr, opaque).error;
}
inline Ret hart_status(unsigned long hartid) { return call(kHsm, 2, hartid); }
// SRST (spec 10): type 0 shutdown, 1 cold reboot, 2 warm reboot;
// reason 0 none, 1 system failure.
inline long system_reset(unsigned long type, unsigned long reason) {
  return call(kSrst, 0, type, reason).error;
}
// DBCN (spec 2.0, 12): write bytes from a physical address.
inline Ret dbcn_write(unsigned long len, unsigned long pa_lo, unsigned long pa_hi) {
  return call(kDbcn, 0, len, pa_lo, pa_hi);
}

const char* error_name(long err);

}  // namespace arch::sbi
