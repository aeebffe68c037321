// Permanent MMIO mappings for boot-time devices (console UART, power-off
// syscon), made before the page allocator exists: a bump allocator over a
// 64 MiB window just below vmemmap, page tables from memblock. Devices that
// come and go use ioremap()/iounmap() in the vmalloc range instead.
#include <arch/io.h>
#include <arch/memory.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/setup.h"
#include "arch/riscv/mm/pgtable_map.h"
#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "mm/memblock.h"

namespace arch {
namespace {

constexpr uint64_t kWindowSize = 64ull << 20;
uint64_t g_next;  // offset into the window
k::SpinLock g_lock;

uint64_t window_base() { return g_layout.vmemmap_start - kWindowSize; }

}  // namespace

uint64_t io_pte_flags() {
  // Svpbmt IO: non-cacheable, strongly ordered (Svpbmt spec, table 1).
  return pte::kKernelRW | (has_isa_extension("svpbmt") ? pte::kPbmtIO : 0);
}

void* ioremap_boot(k::PhysAddr pa, size_t size) {
  if (size == 0) return nullptr;
  const k::PhysAddr base = pa.page_down();
  const uint64_t len = k::align_up(pa.value() + size, k::kPageSize) - base.value();
  k::SpinLockGuard g(g_lock);
  if (len > kWindowSize - g_next) {
    pr_err("ioremap_boot: window full mapping 0x%llx+0x%zx\n",
           static_cast<unsigned long long>(pa.value()), size);
    return nullptr;
  }
  const uint64_t va = window_base() + g_next;
  auto alloc = []() -> k::PhysAddr {
    void* p = k::memblock.alloc(k::kPageSize, k::kPageSize);
    return p ? virt_to_phys(p) : k::PhysAddr(0);
  };
  auto table_at = [](k::PhysAddr t) { return static_cast<uint64_t*>(phys_to_virt(t)); };
  const auto st = map_range(g_early_boot.root_table, g_layout.levels,
                            {va, base, len, io_pte_flags(), 0}, alloc, table_at);
  if (st != MapStatus::kOk) {
    pr_err("ioremap_boot: cannot map 0x%llx (%s)\n", static_cast<unsigned long long>(pa.value()),
           st == MapStatus::kNoMemory ? "no memory for page tables" : "bad request");
    return nullptr;
  }
  g_next += len;
  // Some harts cache invalid entries; make the new mapping visible here.
  local_flush_tlb_all();
  return reinterpret_cast<void*>(va + (pa.value() - base.value()));
}

}  // namespace arch
