// StarFive JH7110 (VisionFive 2) board hooks.
//
// What the DT does not say and the kernel must do on this SoC
// (docs/boards/visionfive2.md, "Coherent DMA" for the reasoning):
//  - SiFive CIP-1200 TLB erratum switch for the U74 harts;
//  - streaming-DMA cache maintenance with the L2 FLUSH64 register: the U74
//    has neither Zicbom (no cbo.clean/cbo.inval) nor Svpbmt;
//  - the uncached DRAM alias used as the CPU view of coherent-DMA memory,
//    switched on only after it was seen to alias DRAM on this board.
// Hart 0 (S7, no MMU) and the Sv39 cap need no hook: the DT's status and
// mmu-type already say so (arch/riscv/kernel/smp.cpp, arch/riscv/boot/early.cpp).
#include <arch/io.h>
#include <arch/memory.h>

#include "arch/riscv/kernel/trap.h"
#include "board/board.h"
#include "board/sifive/tlb_errata.h"
#include "board/visionfive2/jh7110.h"
#include "kernel/printk.h"
#include "mm/memblock.h"

namespace k {
namespace {

volatile uint64_t* g_flush64;

// FLUSH64 is a 64-bit register; arch/io.h has no writeq, so the store and
// its fences (Linux riscv mmio.h: writeq = fence w,o; store) are spelled
// out here. Each request is followed by a full I/O+memory fence so that
// the writeback is ordered before whatever the caller does next (the
// device doorbell, or CPU reads of DMA'd data), as Linux's sifive_ccache
// flush loop does with mb().
void flush64(uint64_t line_pa) {
  asm volatile("fence rw,o" ::: "memory");
  *g_flush64 = line_pa;
  asm volatile("fence iorw,iorw" ::: "memory");
}

void l2_flush_range(PhysAddr pa, size_t size) {
  if (!g_flush64) return;
  jh7110::for_each_cache_line(pa.value(), size, flush64);
}

// FLUSH64 is clean + invalidate: all three DMA directions map to it.
// Invalidate-by-flush also writes back lines the CPU dirtied; the DMA API
// contract (the CPU does not write a buffer the device owns) makes that
// harmless, and the DMA layer cleans at map time for every direction.
void l2_clean_range(PhysAddr pa, size_t size) { l2_flush_range(pa, size); }
void l2_invalidate_range(PhysAddr pa, size_t size) { l2_flush_range(pa, size); }

// Finds the L2 controller in the DT (sifive,ccache0 binding; older
// StarFive trees use the FU740 string), else the documented address.
PhysAddr ccache_base(const fdt::Fdt& fdt) {
  static constexpr const char* kCcache[] = {"starfive,jh7110-ccache", "sifive,ccache0",
                                            "sifive,fu740-c000-ccache"};
  for (const char* c : kCcache) {
    std::optional<PhysAddr> found;
    fdt.for_each_compatible(c, [&](fdt::Node n) {
      if (auto r = fdt.reg_translated(n, 0)) found = PhysAddr(r->addr);
      return !found;
    });
    if (found) return *found;
  }
  pr_warn("jh7110: no cache-controller node in the DT; using the SoC's 0x%llx\n",
          static_cast<unsigned long long>(jh7110::kCcacheBase));
  return PhysAddr(jh7110::kCcacheBase);
}

// The alias is used only if, on this board, a word written through the
// cached linear map and flushed out of L2 reads back through the alias,
// and a word written through the alias reads back through the linear map
// once its stale cached line is flushed.
bool verify_uncached_alias() {
  auto scratch = memblock.phys_alloc(kPageSize, kPageSize, PhysAddr(jh7110::kDramBase),
                                     PhysAddr(jh7110::kDramBase + jh7110::kUncachedAliasOffset));
  if (!scratch.ok()) return false;
  const PhysAddr pa = scratch.value();
  bool ok = false;
  auto* alias = static_cast<volatile uint64_t*>(
      arch::ioremap_boot(pa + jh7110::kUncachedAliasOffset, kPageSize));
  auto* cached = static_cast<volatile uint64_t*>(arch::phys_to_virt(pa));
  if (alias && !arch::probe_read(alias)) {
    constexpr uint64_t kOne = 0x4a48373131300001ull, kTwo = 0x4a48373131300002ull;
    *cached = kOne;
    flush64(pa.value());
    const bool seen_uncached = *alias == kOne;
    *alias = kTwo;
    flush64(pa.value());
    ok = seen_uncached && *cached == kTwo;
  }
  (void)memblock.free(pa, kPageSize);
  return ok;
}

void jh7110_early_quirks(const fdt::Fdt& fdt) {
  sifive::apply_tlb_errata("jh7110");

  const PhysAddr base = ccache_base(fdt);
  g_flush64 = static_cast<volatile uint64_t*>(
      arch::ioremap_boot(base + jh7110::kCcacheFlush64, sizeof(uint64_t)));
  if (!g_flush64) {
    pr_err("jh7110: cannot map the L2 FLUSH64 register; non-coherent DMA is unsafe\n");
    return;
  }
  pr_info("jh7110: streaming DMA cache maintenance via L2 FLUSH64 at 0x%llx (%llu-byte lines)\n",
          static_cast<unsigned long long>(base.value() + jh7110::kCcacheFlush64),
          static_cast<unsigned long long>(jh7110::kCacheLine));

  if (verify_uncached_alias()) {
    board_set_uncached_alias_offset(jh7110::kUncachedAliasOffset);
    pr_info("jh7110: uncached DRAM alias at +0x%llx verified; coherent DMA maps through it\n",
            static_cast<unsigned long long>(jh7110::kUncachedAliasOffset));
  } else {
    pr_warn(
        "jh7110: no uncached DRAM alias at +0x%llx; coherent DMA must use the cached pool "
        "with FLUSH64\n",
        static_cast<unsigned long long>(jh7110::kUncachedAliasOffset));
  }
}

}  // namespace

DECLARE_BOARD(jh7110, .name = "StarFive JH7110", .compatible = jh7110::kCompatible,
              .early_quirks = jh7110_early_quirks, .cache_clean_range = l2_clean_range,
              .cache_invalidate_range = l2_invalidate_range, .cache_flush_range = l2_flush_range);

}  // namespace k
