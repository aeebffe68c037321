// Self-tests of TLB shootdown: a vmalloc'd page is switched to another
// physical page on this hart while every other hart has the old
// translation cached; after flush_tlb_kernel_range() each of them must
// read the new contents. Run through SBI RFENCE, the IPI fallback and the
// flush-all quirk. Benchmark: instructions per shootdown to 1..N-1 harts.
#include <atomic>

#include <arch/cpu.h>
#include <arch/pgtable.h>
#include <arch/tlb.h>

#include "arch/riscv/kernel/smp.h"
#include "arch/riscv/kernel/trap.h"
#include "arch/riscv/mm/tlbflush.h"
#include "kernel/selftest.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/vmalloc.h"

namespace {

constexpr uint64_t kOld = 0x01d01d01d01d01d0ull;
constexpr uint64_t kNew = 0x0e110e110e110e11ull;

struct ReadArgs {
  const volatile uint64_t* va;
  std::atomic<uint64_t> seen[64];
};

void read_remote(void* p) {
  auto* a = static_cast<ReadArgs*>(p);
  // Several reads: the first fills this hart's TLB with the translation.
  uint64_t v = 0;
  for (int i = 0; i < 16; ++i) v = a->va[0];
  a->seen[arch::this_cpu() % 64].store(v, std::memory_order_relaxed);
}

// Returns the number of remote harts that read stale data after the flush.
unsigned remap_and_check(k::selftest::Context& t, unsigned* stale_before_flush) {
  *stale_before_flush = 0;
  auto* va = static_cast<volatile uint64_t*>(k::vmalloc(4096));
  if (!va) {
    t.fail(__FILE__, __LINE__, "vmalloc(4096)");
    return 0;
  }
  k::Page* fresh = k::alloc_page(k::GFP_KERNEL | k::__GFP_ZERO);
  if (!fresh) {
    k::vfree(const_cast<uint64_t*>(va));
    t.fail(__FILE__, __LINE__, "alloc_page");
    return 0;
  }
  static ReadArgs args;
  args.va = va;
  va[0] = kOld;
  *static_cast<volatile uint64_t*>(k::page_address(fresh)) = kNew;
  // Every other hart reads (and caches) the old translation.
  for (unsigned c = 0; c < arch::nr_cpus(); ++c)
    if (c != arch::this_cpu() && arch::cpu_online(c)) arch::smp_call_on(c, read_remote, &args);
  k::Page* old = k::vmalloc_to_page(const_cast<uint64_t*>(va));
  const uint64_t vaddr = reinterpret_cast<uint64_t>(va);
  KEXPECT(
      arch::remap_kernel_page(k::VirtAddr(vaddr), k::page_to_phys(fresh), arch::PAGE_KERNEL).ok());
  // Before the shootdown another hart may still see the old page (QEMU's
  // software TLB does): count, do not judge - the architecture allows both.
  for (unsigned c = 0; c < arch::nr_cpus() && c < 64; ++c) {
    if (c == arch::this_cpu() || !arch::cpu_online(c)) continue;
    arch::smp_call_on(c, read_remote, &args);
    if (args.seen[c].load() == kOld) ++*stale_before_flush;
  }
  arch::flush_tlb_kernel_range(vaddr, 4096);
  unsigned stale = 0;
  KEXPECT_EQ(va[0], kNew);
  for (unsigned c = 0; c < arch::nr_cpus() && c < 64; ++c) {
    if (c == arch::this_cpu() || !arch::cpu_online(c)) continue;
    args.seen[c].store(0);
    KEXPECT(arch::smp_call_on(c, read_remote, &args));
    if (args.seen[c].load() != kNew) ++stale;
  }
  // Put the original page back so vfree frees what vmalloc allocated.
  KEXPECT(
      arch::remap_kernel_page(k::VirtAddr(vaddr), k::page_to_phys(old), arch::PAGE_KERNEL).ok());
  arch::flush_tlb_kernel_range(vaddr, 4096);
  k::vfree(const_cast<uint64_t*>(va));
  k::__free_page(fresh);
  return stale;
}

}  // namespace

SELFTEST(tlb, remote_harts_see_a_remapped_page_after_shootdown) {
  if (arch::nr_online_cpus() < 2 || !k::vmalloc_ready()) {
    t.skip("needs at least 2 online harts and vmalloc");
    return;
  }
  unsigned before = 0;
  const unsigned stale = remap_and_check(t, &before);
  KEXPECT_EQ(stale, 0u);
  t.diag("via %s: %u of %u remote harts still saw the old page before the flush, 0 after",
         arch::tlb_remote_method() == arch::TlbRemoteMethod::kSbiRfence ? "SBI RFENCE" : "IPI",
         before, arch::nr_online_cpus() - 1);
}

SELFTEST(tlb, ipi_fallback_shootdown_works) {
  if (arch::nr_online_cpus() < 2 || !k::vmalloc_ready()) {
    t.skip("needs at least 2 online harts and vmalloc");
    return;
  }
  const auto prev = arch::tlb_force_remote_method(arch::TlbRemoteMethod::kIpi);
  unsigned before = 0;
  const unsigned stale = remap_and_check(t, &before);
  arch::tlb_force_remote_method(prev);
  KEXPECT_EQ(stale, 0u);
}

SELFTEST(tlb, flush_all_quirk_still_invalidates) {
  if (arch::nr_online_cpus() < 2 || !k::vmalloc_ready()) {
    t.skip("needs at least 2 online harts and vmalloc");
    return;
  }
  const bool was = arch::tlb_flush_all_quirk();
  const auto stats0 = arch::tlb_stats();
  arch::tlb_set_flush_all_quirk(true, "self-test");
  unsigned before = 0;
  const unsigned stale = remap_and_check(t, &before);
  const auto stats1 = arch::tlb_stats();
  arch::tlb_set_flush_all_quirk(was, "self-test done");
  KEXPECT_EQ(stale, 0u);
  // Every local flush in between was a full one.
  KEXPECT(stats1.full_flushes > stats0.full_flushes);
}

SELFTEST(tlb, range_flush_becomes_full_above_threshold) {
  const auto s0 = arch::tlb_stats();
  arch::local_flush_tlb_range(arch::g_layout.vmalloc_start, arch::kTlbFlushAllPages * 4096);
  const auto s1 = arch::tlb_stats();
  arch::local_flush_tlb_range(arch::g_layout.vmalloc_start, (arch::kTlbFlushAllPages + 1) * 4096);
  const auto s2 = arch::tlb_stats();
  if (!arch::tlb_flush_all_quirk()) {
    KEXPECT_EQ(s1.range_flushes, s0.range_flushes + 1);
    KEXPECT_EQ(s1.full_flushes, s0.full_flushes);
  }
  KEXPECT_EQ(s2.full_flushes, s1.full_flushes + 1);
}

SELFTEST(tlb, bench_shootdown_instructions) {
  const unsigned n = arch::nr_online_cpus();
  if (n < 2) {
    t.skip("needs at least 2 online harts");
    return;
  }
  const uint64_t va = arch::g_layout.vmalloc_start;  // never mapped
  for (int method = 0; method < 2; ++method) {
    const auto prev = arch::tlb_force_remote_method(method == 0 ? arch::TlbRemoteMethod::kSbiRfence
                                                                : arch::TlbRemoteMethod::kIpi);
    if (method == 0 && prev != arch::TlbRemoteMethod::kSbiRfence) {
      arch::tlb_force_remote_method(prev);
      continue;
    }
    for (unsigned targets = 1; targets < n && targets < 64; ++targets) {
      uint64_t mask = 0;
      unsigned picked = 0;
      for (unsigned c = 0; c < arch::nr_cpus() && picked < targets; ++c)
        if (c != arch::this_cpu() && arch::cpu_online(c)) {
          mask |= uint64_t{1} << c;
          ++picked;
        }
      constexpr int kRounds = 8;
      const uint64_t i0 = arch::read_instret();
      for (int r = 0; r < kRounds; ++r) arch::remote_flush_tlb_kernel_range(mask, va, 4096);
      const uint64_t i1 = arch::read_instret();
      t.diag("bench: shootdown of one page to %u hart(s) via %s: %llu instructions", targets,
             method == 0 ? "SBI RFENCE" : "IPI", (unsigned long long)((i1 - i0) / kRounds));
    }
    arch::tlb_force_remote_method(prev);
  }
}

namespace {

struct SpuriousArgs {
  volatile uint64_t* va;
  bool probe_faulted;
  uint64_t value;
  uint64_t fixups;
};

// Hart B, before the mapping exists: touch the address, so that a TLB
// that caches invalid entries now holds one for it.
void touch_unmapped(void* p) {
  auto* a = static_cast<SpuriousArgs*>(p);
  a->probe_faulted = arch::probe_read(const_cast<uint64_t*>(a->va));
}

// Hart B, after the mapping: a plain load, no probe. A stale invalid
// entry makes it fault; the fixup flushes this hart and the load retries.
void read_mapped(void* p) {
  auto* a = static_cast<SpuriousArgs*>(p);
  const uint64_t f0 = arch::nr_vmalloc_spurious_faults();
  a->value = a->va[0];
  a->fixups = arch::nr_vmalloc_spurious_faults() - f0;
}

unsigned other_online_cpu() {
  for (unsigned c = 0; c < arch::nr_cpus(); ++c)
    if (c != arch::this_cpu() && arch::cpu_online(c)) return c;
  return arch::nr_cpus();
}

}  // namespace

SELFTEST(tlb, new_vmalloc_mapping_needs_no_remote_flush) {
  if (arch::nr_online_cpus() < 2 || !k::vmalloc_ready()) {
    t.skip("needs at least 2 online harts and vmalloc");
    return;
  }
  const unsigned b = other_online_cpu();
  k::VmapArea* area = k::get_vm_area(4096, 4096, k::VM_MAP, nullptr);
  k::Page* page = k::alloc_page(k::GFP_KERNEL);
  KASSERT(area && page);
  *static_cast<volatile uint64_t*>(k::page_address(page)) = kNew;
  static SpuriousArgs args;
  args = SpuriousArgs{reinterpret_cast<volatile uint64_t*>(area->addr), false, 0, 0};
  KEXPECT(arch::smp_call_on(b, touch_unmapped, &args));
  KEXPECT(args.probe_faulted);
  // Hart A (this one) maps the page and publishes it: no shootdown.
  const uint64_t remote0 = arch::tlb_stats().remote_shootdowns;
  KEXPECT(arch::map_kernel_range(k::VirtAddr(area->addr), k::page_to_phys(page), 4096,
                                 arch::PAGE_KERNEL, arch::kLeaf4K)
              .ok());
  arch::flush_cache_vmap(area->addr, 4096);
  KEXPECT_EQ(arch::tlb_stats().remote_shootdowns, remote0);
  KEXPECT(arch::smp_call_on(b, read_mapped, &args));
  KEXPECT_EQ(args.value, kNew);
  KEXPECT(args.fixups <= 1);  // at most the one stale entry, never a loop
  KEXPECT_EQ(arch::tlb_stats().remote_shootdowns, remote0);
  t.diag(
      "hart %u read the new mapping with %llu spurious-fault fixup(s) (0: its TLB kept no "
      "invalid entry)",
      b, (unsigned long long)args.fixups);
  arch::unmap_kernel_range(k::VirtAddr(area->addr), 4096);
  k::free_vm_area(area);
  k::__free_page(page);
}

SELFTEST(tlb, spurious_fault_fixup_runs_once_per_new_mapping) {
  if (!k::vmalloc_ready()) {
    t.skip("needs vmalloc");
    return;
  }
  // A new generation, then a real fault on an unmapped vmalloc address:
  // the first fault is taken as possibly stale (flush, retry), the retry
  // faults again and is real, so the probe reports it.
  k::VmapArea* area = k::get_vm_area(4096, 4096, k::VM_MAP, nullptr);
  KASSERT(area != nullptr);
  arch::flush_cache_vmap(area->addr, 4096);
  const uint64_t f0 = arch::nr_vmalloc_spurious_faults();
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(area->addr)));
  KEXPECT_EQ(arch::nr_vmalloc_spurious_faults(), f0 + 1);
  // Nothing new published since: straight to the real fault.
  KEXPECT(arch::probe_read(reinterpret_cast<void*>(area->addr)));
  KEXPECT_EQ(arch::nr_vmalloc_spurious_faults(), f0 + 1);
  // Addresses outside the vmalloc and per-CPU ranges are never fixed up.
  arch::flush_cache_vmap(area->addr, 4096);
  KEXPECT(!arch::vmalloc_spurious_fault(arch::g_layout.linear_base));
  KEXPECT(!arch::vmalloc_spurious_fault(0x1000));
  KEXPECT(arch::vmalloc_spurious_fault(area->addr));
  KEXPECT(!arch::vmalloc_spurious_fault(area->addr));
  k::free_vm_area(area);
}
