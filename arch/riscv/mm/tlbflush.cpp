// TLB maintenance: local sfence.vma and remote shootdown through SBI
// RFENCE (SBI spec v1.0, 8.2 remote_sfence_vma) or, without RFENCE, an IPI
// cross-call that runs the local flush on each hart.
#include "arch/riscv/mm/tlbflush.h"

#include <atomic>

#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/percpu.h>
#include <arch/tlb.h>

#include "arch/riscv/kernel/sbi.h"
#include "arch/riscv/kernel/setup.h"
#include "arch/riscv/kernel/smp.h"
#include "kernel/boot_info.h"
#include "kernel/printk.h"
#include "lib/cmdline.h"
#include "lib/types.h"

namespace arch {
namespace {

// SBI spec v1.0, 8.2: size = 2^XLEN-1 (or start = size = 0) flushes the
// whole address space.
constexpr uint64_t kFlushAllSize = ~uint64_t{0};

std::atomic<bool> g_flush_all_quirk{false};
bool g_svvptc;  // set once by tlb_init()
std::atomic<TlbRemoteMethod> g_method{TlbRemoteMethod::kNone};
std::atomic<uint64_t> g_remote_shootdowns{0};
std::atomic<uint64_t> g_full_flushes{0};
std::atomic<uint64_t> g_range_flushes{0};
std::atomic<uint64_t> g_spurious_fixups{0};

// Linux >= 6.11 arch/riscv "new_vmalloc", as a generation count instead
// of a bitmap of CPUs (O(1) for any number of harts): flush_cache_vmap()
// bumps g_vmap_gen after the new PTEs are written; a hart whose
// g_vmap_seen differs may still hold an invalid entry for a mapping made
// since it last flushed, so a kernel fault on a vmalloc address makes it
// catch up (local sfence.vma) and retry.
std::atomic<uint64_t> g_vmap_gen{0};
DEFINE_PER_CPU(uint64_t, g_vmap_seen);

bool want_full(uint64_t size) {
  return size == kFlushAllSize || g_flush_all_quirk.load(std::memory_order_relaxed) ||
         size / k::kPageSize > kTlbFlushAllPages;
}

struct FlushArgs {
  uint64_t start;
  uint64_t size;
  long asid;  // -1: kernel (global) entries
};

void do_local(const FlushArgs& a) {
  if (a.asid < 0)
    local_flush_tlb_range(a.start, a.size);
  else
    local_flush_tlb_range_asid(a.start, a.size, static_cast<unsigned long>(a.asid));
}

void ipi_flush(void* p) { do_local(*static_cast<const FlushArgs*>(p)); }

// Sends one RFENCE per window of 64 hart ids (hart_mask is relative to
// hart_mask_base, SBI spec 3.1), covering every selected online CPU.
unsigned rfence(uint64_t cpus, bool all_cpus, const FlushArgs& a) {
  const unsigned self = this_cpu();
  const unsigned n = nr_cpus();
  // Bitmap of CPUs still to reach (n is small; quadratic scan is fine).
  constexpr unsigned kMaxCpus = 256;
  bool pending[kMaxCpus] = {};
  unsigned left = 0;
  for (unsigned c = 0; c < n && c < kMaxCpus; ++c) {
    if (c == self || !cpu_online(c)) continue;
    if (!all_cpus && (c >= 64 || !(cpus & (uint64_t{1} << c)))) continue;
    pending[c] = true;
    ++left;
  }
  const unsigned asked = left;
  const bool full = want_full(a.size);
  const uint64_t start = full ? 0 : a.start;
  const uint64_t size = full ? kFlushAllSize : a.size;
  while (left) {
    uint64_t base = ~uint64_t{0};
    for (unsigned c = 0; c < n && c < kMaxCpus; ++c)
      if (pending[c] && cpu_info(c).hartid < base) base = cpu_info(c).hartid;
    unsigned long mask = 0;
    for (unsigned c = 0; c < n && c < kMaxCpus; ++c) {
      if (!pending[c]) continue;
      const uint64_t h = cpu_info(c).hartid;
      if (h - base < 64) {
        mask |= 1ul << (h - base);
        pending[c] = false;
        --left;
      }
    }
    const long err = a.asid < 0 ? sbi::remote_sfence_vma(mask, base, start, size)
                                : sbi::remote_sfence_vma_asid(mask, base, start, size,
                                                              static_cast<unsigned long>(a.asid));
    if (err) {
      // Never leave a stale entry behind: fall back to full IPI flushes.
      pr_err("tlb: SBI remote_sfence_vma(mask %lx, base %llu) failed: %s; using IPIs\n", mask,
             static_cast<unsigned long long>(base), sbi::error_name(err));
      FlushArgs all{0, kFlushAllSize, a.asid};
      smp_call_others(ipi_flush, &all);
    }
  }
  return asked;
}

unsigned remote(uint64_t cpus, bool all_cpus, const FlushArgs& a) {
  if (nr_online_cpus() <= 1) return 0;
  g_remote_shootdowns.fetch_add(1, std::memory_order_relaxed);
  switch (g_method.load(std::memory_order_relaxed)) {
    case TlbRemoteMethod::kSbiRfence:
      return rfence(cpus, all_cpus, a);
    case TlbRemoteMethod::kIpi:
    case TlbRemoteMethod::kNone: {
      // smp_call_on waits for each hart; the flush runs in its IPI handler.
      FlushArgs copy = a;
      unsigned asked = 0;
      for (unsigned c = 0; c < nr_cpus(); ++c) {
        if (c == this_cpu() || !cpu_online(c)) continue;
        if (!all_cpus && (c >= 64 || !(cpus & (uint64_t{1} << c)))) continue;
        if (!smp_call_on(c, ipi_flush, &copy))
          pr_err("tlb: CPU %u did not take the TLB shootdown IPI\n", c);
        ++asked;
      }
      return asked;
    }
  }
  return 0;
}

}  // namespace

void local_flush_tlb_range(uint64_t start, uint64_t size) {
  if (want_full(size)) {
    g_full_flushes.fetch_add(1, std::memory_order_relaxed);
    local_flush_tlb_all();
    return;
  }
  g_range_flushes.fetch_add(1, std::memory_order_relaxed);
  const uint64_t first = k::align_down(start, k::kPageSize);
  const uint64_t end = start + size;
  for (uint64_t va = first; va < end; va += k::kPageSize) local_flush_tlb_page(va);
}

void local_flush_tlb_range_asid(uint64_t start, uint64_t size, unsigned long asid) {
  if (want_full(size)) {
    local_flush_tlb_asid(asid);
    return;
  }
  const uint64_t first = k::align_down(start, k::kPageSize);
  const uint64_t end = start + size;
  for (uint64_t va = first; va < end; va += k::kPageSize) local_flush_tlb_page_asid(va, asid);
}

void flush_tlb_all() {
  const FlushArgs a{0, kFlushAllSize, -1};
  const unsigned long flags = irq_save();
  local_flush_tlb_all();
  irq_restore(flags);
  remote(0, true, a);
}

void flush_tlb_kernel_range(uint64_t start, uint64_t size) {
  if (size == 0) return;
  const FlushArgs a{start, size, -1};
  local_flush_tlb_range(start, size);
  remote(0, true, a);
}

void flush_tlb_range_asid(uint64_t start, uint64_t size, unsigned long asid) {
  if (size == 0) return;
  const FlushArgs a{start, size, static_cast<long>(asid)};
  local_flush_tlb_range_asid(start, size, asid);
  remote(0, true, a);
}

void flush_cache_vmap(uint64_t start, uint64_t size) {
  // Svvptc: a PTE that became valid is seen by the walker without a fence
  // (bounded delay), so nothing to do.
  if (g_svvptc) return;
  // No sfence.vma at all, not even here. A hart that cached an invalid
  // entry for the range (Privileged spec 4.2.1 allows it) takes one page
  // fault on it; vmalloc_spurious_fault() sees the new generation, flushes
  // locally and lets it retry. The bump comes after the caller's PTE
  // stores (release) and before the address is handed out, so a hart that
  // learns the address also sees the new generation.
  (void)start;
  (void)size;
  g_vmap_gen.fetch_add(1, std::memory_order_release);
}

void flush_cache_vmap_all_harts(uint64_t start, uint64_t size) {
  if (g_svvptc) return;
  flush_tlb_kernel_range(start, size);
}

bool vmalloc_spurious_fault(uint64_t addr) {
  if (addr < g_layout.vmalloc_start || addr >= g_layout.percpu_end) return false;
  const uint64_t gen = g_vmap_gen.load(std::memory_order_acquire);
  uint64_t* seen = this_cpu_ptr(&g_vmap_seen);
  if (*seen == gen) return false;
  // Record before the fence: a mapping published after the load bumps the
  // generation again, one published before it is covered by the fence.
  *seen = gen;
  local_flush_tlb_all();
  g_spurious_fixups.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t nr_vmalloc_spurious_faults() { return g_spurious_fixups.load(std::memory_order_relaxed); }

unsigned remote_flush_tlb_kernel_range(uint64_t cpus, uint64_t start, uint64_t size) {
  return remote(cpus, false, FlushArgs{start, size, -1});
}

void tlb_set_flush_all_quirk(bool on, const char* why) {
  g_flush_all_quirk.store(on);
  pr_info("tlb: address-specific sfence.vma %s (%s)\n", on ? "disabled, flushing all" : "enabled",
          why ? why : "no reason given");
}

bool tlb_flush_all_quirk() { return g_flush_all_quirk.load(); }

TlbRemoteMethod tlb_remote_method() { return g_method.load(); }

TlbRemoteMethod tlb_force_remote_method(TlbRemoteMethod m) { return g_method.exchange(m); }

TlbStats tlb_stats() {
  return {g_remote_shootdowns.load(), g_full_flushes.load(), g_range_flushes.load()};
}

void tlb_init() {
  const bool rfence = sbi::probe(sbi::kRfence);
  g_method.store(rfence ? TlbRemoteMethod::kSbiRfence : TlbRemoteMethod::kIpi);
  g_svvptc = has_isa_extension("svvptc");
  if (auto v = k::cmdline_get(k::boot_params().cmdline, "tlb_flush_all")) {
    if (auto on = k::parse_bool(*v)) {
      if (*on) tlb_set_flush_all_quirk(true, "tlb_flush_all=1 on the command line");
    } else {
      pr_warn("tlb: ignoring tlb_flush_all=%.*s (expected 0 or 1)\n", static_cast<int>(v->size()),
              v->data());
    }
  }
  pr_info("tlb: remote shootdown via %s, full flush above %llu pages%s\n",
          rfence ? "SBI RFENCE" : "IPI cross-calls",
          static_cast<unsigned long long>(kTlbFlushAllPages),
          tlb_flush_all_quirk() ? ", flush-all quirk on" : "");
}

}  // namespace arch
