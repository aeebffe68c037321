// CSR access (Privileged spec chapter 4). Arch-private.
#pragma once

#include <cstdint>

#define csr_read(csr)                                    \
  ({                                                     \
    uint64_t _v;                                         \
    asm volatile("csrr %0, " #csr : "=r"(_v)::"memory"); \
    _v;                                                  \
  })
#define csr_write(csr, val) asm volatile("csrw " #csr ", %0" ::"rK"(uint64_t(val)) : "memory")
#define csr_set(csr, bits) asm volatile("csrs " #csr ", %0" ::"rK"(uint64_t(bits)) : "memory")
#define csr_clear(csr, bits) asm volatile("csrc " #csr ", %0" ::"rK"(uint64_t(bits)) : "memory")

namespace arch {

// sie/sip bits (4.1.3).
inline constexpr uint64_t kSieSsie = 1u << 1;
inline constexpr uint64_t kSieStie = 1u << 5;
inline constexpr uint64_t kSieSeie = 1u << 9;
// sstatus bits (4.1.1).
inline constexpr uint64_t kSstatusSie = 1u << 1;
inline constexpr uint64_t kSstatusSpie = 1u << 5;
inline constexpr uint64_t kSstatusSpp = 1u << 8;
inline constexpr uint64_t kSstatusSum = 1u << 18;

inline void local_flush_tlb_all() { asm volatile("sfence.vma" ::: "memory"); }
inline void local_flush_tlb_page(uint64_t va) {
  asm volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
}

}  // namespace arch
