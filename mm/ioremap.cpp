// ioremap on top of the vm-area layer. See ioremap.h.
#include "mm/ioremap.h"

#include <arch/pgtable.h>
#include <arch/tlb.h>

#include "kernel/printk.h"
#include "mm/vmalloc.h"

namespace k {

void* ioremap(PhysAddr phys, size_t size) {
  const uint64_t last = phys.value() + size - 1;
  if (size == 0 || last < phys.value()) {
    pr_err("ioremap: bad range 0x%llx+0x%zx\n", static_cast<unsigned long long>(phys.value()),
           size);
    return nullptr;
  }
  const PhysAddr base = phys.page_down();
  const uint64_t len = align_up(last + 1, kPageSize) - base.value();
  // 2 MiB leaves need the virtual and physical addresses to share 2 MiB
  // alignment; only worth it for large regions.
  const uint64_t k2M = arch::pte::level_size(1);
  const bool big = len >= k2M && is_aligned(base.value(), k2M);
  VmapArea* a = get_vm_area(len, big ? k2M : kPageSize, VM_IOREMAP, __builtin_return_address(0));
  if (!a) {
    pr_err("ioremap: no virtual space for 0x%llx+0x%zx\n",
           static_cast<unsigned long long>(phys.value()), size);
    return nullptr;
  }
  a->phys_addr = base.value();
  a->nr_pages = len / kPageSize;
  // 4 KiB leaves through the batched path (one walk per leaf table).
  const auto mapped =
      big ? arch::map_kernel_range(VirtAddr(a->addr), base, len, arch::pgprot_io(), arch::kLeaf2M)
          : arch::map_kernel_pages(
                VirtAddr(a->addr), len / kPageSize,
                [](uint64_t i, void* ctx) {
                  return PhysAddr(static_cast<const PhysAddr*>(ctx)->value() + i * kPageSize);
                },
                const_cast<PhysAddr*>(&base), arch::pgprot_io());
  if (!mapped) {
    pr_err("ioremap: cannot map 0x%llx+0x%zx\n", static_cast<unsigned long long>(phys.value()),
           size);
    free_vm_area(a);
    return nullptr;
  }
  arch::flush_cache_vmap(a->addr, len);
  return reinterpret_cast<void*>(a->addr + (phys.value() - base.value()));
}

void iounmap(volatile void* addr) {
  if (!addr) return;
  const uint64_t va = align_down(reinterpret_cast<uint64_t>(addr), kPageSize);
  VmapArea* a = claim_vm_area(reinterpret_cast<const void*>(va), VM_IOREMAP);
  if (!a) {
    pr_err("iounmap: bad address 0x%llx (not from ioremap); ignored\n",
           static_cast<unsigned long long>(reinterpret_cast<uint64_t>(addr)));
    return;
  }
  vm_area_unmap_lazy(a);
}

}  // namespace k
