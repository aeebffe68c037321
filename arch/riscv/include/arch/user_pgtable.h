// Arch interface: user page tables, ASIDs and switch_mm (Privileged spec
// v1.12, 4.1.11 satp, 4.2.1 SFENCE.VMA, 4.3-4.5 Sv39/Sv48).
//
// A user root table is a page whose upper half (the kernel's root entries)
// is copied from the kernel root at creation: pgtable_init() preallocated
// every second-level table the kernel will ever need, so those entries
// never change and need no later synchronisation. The lower half belongs
// to the process; leaves there are 4 KiB user pages only.
//
// ASIDs: probed at boot by writing all-ones to satp.ASID and reading back
// (4.1.11: unimplemented ASID bits are read-only zero). With ASIDs every
// address space owns one until it dies, and its TLB entries are flushed on
// every hart before the number is reused; without (or when they run out)
// the ASID is 0 and every switch_mm flushes the local TLB.
//
// The owner (mm/mm_struct.cpp) serialises edits of one table and frees the
// leaf pages; this layer only manages table pages and TLB maintenance.
#pragma once

#include <atomic>
#include <cstdint>

#include "lib/result.h"
#include "lib/types.h"

namespace arch {

// Leaf PTE bits a user mapping may use (pte.h values, re-exported so that
// mm/ stays arch-neutral).
struct UserPte {
  static const uint64_t kValid, kRead, kWrite, kExec, kUser, kAccessed, kDirty, kCow;
};

struct UserPgd {
  k::PhysAddr root{0};
  uint64_t nr_tables = 0;  // table pages including the root (VmPTE)
  unsigned asid = 0;
  // Harts (logical CPUs < 64) that have had this table in satp and so may
  // cache its entries (Linux mm_cpumask). Flushes go to these harts only;
  // a process that never left its hart is flushed locally. Bit 63 stands
  // for every CPU >= 63.
  std::atomic<uint64_t> cpus{0};
};

// Exclusive top of user space for the paging mode in use: the lower
// canonical half (Linux riscv TASK_SIZE: 256 GiB on Sv39, 128 TiB on Sv48).
uint64_t user_task_size();

// Probes the ASID width (boot hart, after pgtable_init).
void asid_init();
unsigned asid_bits();

// A root with the kernel half copied and an ASID. ENOMEM without memory.
k::Result<void> user_pgd_alloc(UserPgd* pgd);
// Frees every table page (the leaves must be gone), flushes the ASID on
// every hart and releases it. The table must not be live on any hart.
void user_pgd_free(UserPgd* pgd);

// The level-0 slot for va, allocating intermediate tables when `alloc`.
// nullptr when absent (or out of memory with alloc).
uint64_t* user_pte_slot(UserPgd* pgd, uint64_t va, bool alloc);

// Calls fn(va, slot) for every valid leaf in [start, end).
void user_walk(UserPgd* pgd, uint64_t start, uint64_t end,
               void (*fn)(uint64_t va, uint64_t* slot, void* ctx), void* ctx);
// Frees the table pages under [start, end) that hold no valid entry.
// Called after a TLB flush of the range (user_flush_tlb_range).
void user_free_empty_tables(UserPgd* pgd, uint64_t start, uint64_t end);

// Flushes [start, end) of this address space on every hart.
void user_flush_tlb_range(const UserPgd* pgd, uint64_t start, uint64_t end);
// This hart only (a fault that upgraded a PTE of the running process).
void user_flush_tlb_page_local(const UserPgd* pgd, uint64_t va);

// FENCE.I on this hart: instruction fetch sees earlier stores (after a
// page of code was filled, riscv_flush_icache).
void flush_icache_local();

// Makes `pgd` this hart's translation (nullptr: the kernel table alone).
void switch_mm(UserPgd* pgd);

// PTE helpers over the raw entry.
uint64_t user_pte_make(k::PhysAddr pa, uint64_t flags);
k::PhysAddr user_pte_phys(uint64_t pte);
inline bool user_pte_valid(uint64_t pte) { return pte & 1; }
void user_pte_set(uint64_t* slot, uint64_t v);
uint64_t user_pte_get(const uint64_t* slot);

}  // namespace arch
