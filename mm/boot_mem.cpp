// BootMemInfo -> memblock. See boot_mem.h.
#include "mm/boot_mem.h"

#include "kernel/printk.h"
#include "mm/memblock.h"
#include "mm/numa.h"

namespace k {

namespace {

ReservedMem g_reserved_mem[BootMemInfo::kMaxReserved];
size_t g_nr_reserved_mem;

void copy_name(char* dst, size_t len, const char* src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < len; ++i) dst[i] = src[i];
  dst[i] = 0;
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

void record(const BootReservedRegion& r, PhysRange placed) {
  if (g_nr_reserved_mem == BootMemInfo::kMaxReserved) return;
  ReservedMem& m = g_reserved_mem[g_nr_reserved_mem++];
  copy_name(m.name, sizeof m.name, r.name);
  m.range = placed;
  m.flags = r.flags;
  m.phandle = r.phandle;
}

// Page-aligned outward: a reservation covers every page it touches.
PhysRange page_outward(PhysRange r) {
  const uint64_t b = align_down(r.base.value(), kPageSize);
  const uint64_t e = align_up(r.end().value(), kPageSize);
  return PhysRange{PhysAddr(b), e - b};
}

Result<void> reserve_image(const char* what, PhysRange r) {
  if (!r.size) return {};
  const PhysRange p = page_outward(r);
  if (!memblock.is_region_memory(p.base, p.size))
    pr_warn("memblock: %s [%#llx-%#llx] is not entirely in usable RAM\n", what, ull(r.base.value()),
            ull(r.end().value() - 1));
  return memblock.reserve(p.base, p.size);
}

}  // namespace

bool BootMemInfo::add_reserved(PhysRange r, uint32_t flags, const char* name, uint32_t phandle) {
  if (nr_reserved == kMaxReserved) return ++dropped, false;
  BootReservedRegion& e = reserved[nr_reserved++];
  e = BootReservedRegion{};
  e.range = r;
  e.flags = flags & ~kResvDynamic;
  e.phandle = phandle;
  copy_name(e.name, sizeof e.name, name);
  return true;
}

bool BootMemInfo::add_dynamic_reserved(PhysRange window, uint64_t size, uint64_t align,
                                       uint32_t flags, const char* name, uint32_t phandle) {
  if (!add_reserved(window, flags, name, phandle)) return false;
  BootReservedRegion& e = reserved[nr_reserved - 1];
  e.flags |= kResvDynamic;
  e.dyn_size = size;
  e.dyn_align = align;
  return true;
}

Result<void> memblock_init_from_bootmem(const BootMemInfo& info) {
  g_nr_reserved_mem = 0;
  if (info.dropped)
    pr_warn("mm: %u devicetree memory entries did not fit or were invalid and are ignored\n",
            info.dropped);
  const bool numa = numa_ids_usable(info);
  if (!numa) {
    for (size_t i = 0; i < info.nr_memory; ++i)
      if (info.memory[i].nid != NUMA_NO_NODE) {
        pr_warn(
            "NUMA: numa-node-id missing or out of range on some memory nodes; using one "
            "node\n");
        break;
      }
  }
  for (size_t i = 0; i < info.nr_memory; ++i) {
    const PhysRange& r = info.memory[i].range;
    const uint64_t b = align_up(r.base.value(), kPageSize);
    const uint64_t e = align_down(r.end().value(), kPageSize);
    if (r.end() < r.base || e <= b) {
      pr_warn("memblock: ignoring memory [%#llx+%#llx]: empty or wraps\n", ull(r.base.value()),
              ull(r.size));
      continue;
    }
    TRY(memblock.add(PhysAddr(b), e - b, numa ? info.memory[i].nid : 0));
  }
  if (!memblock.phys_mem_size()) {
    pr_err("memblock: the devicetree describes no usable memory\n");
    return Errno::kEINVAL;
  }
  if (info.mem_limit) {
    PhysAddr keep = info.kernel.end() > info.dtb.end() ? info.kernel.end() : info.dtb.end();
    keep = PhysAddr(align_up(keep.value(), kPageSize));
    memblock.enforce_memory_limit(info.mem_limit, keep);
  }
  for (size_t i = 0; i < info.nr_reserved; ++i) {
    const BootReservedRegion& r = info.reserved[i];
    if (r.flags & kResvDynamic) continue;
    const PhysRange p = page_outward(r.range);
    if (r.flags & (kResvNoMap | kResvFirmware)) TRY(memblock.mark_nomap(p.base, p.size));
    TRY(memblock.reserve(p.base, p.size));
    record(r, r.range);
    pr_info("Reserved memory: %s [%#llx-%#llx]%s%s%s%s\n", r.name, ull(r.range.base.value()),
            ull(r.range.end().value() - 1), (r.flags & kResvFirmware) ? " firmware" : "",
            (r.flags & kResvNoMap) ? " no-map" : "", (r.flags & kResvReusable) ? " reusable" : "",
            (r.flags & kResvSharedDmaPool) ? " shared-dma-pool" : "");
  }
  TRY(reserve_image("kernel image", info.kernel));
  TRY(reserve_image("devicetree blob", info.dtb));
  TRY(reserve_image("initrd", info.initrd));
  // Dynamic regions last, so they cannot land on anything above.
  for (size_t i = 0; i < info.nr_reserved; ++i) {
    const BootReservedRegion& r = info.reserved[i];
    if (!(r.flags & kResvDynamic)) continue;
    const uint64_t align = r.dyn_align > kPageSize ? r.dyn_align : kPageSize;
    const uint64_t size = align_up(r.dyn_size, kPageSize);
    const uint64_t win_end = r.range.size ? r.range.end().value() : kPhysAddrMax;
    auto pa = size && is_pow2(align)
                  ? memblock.phys_alloc(size, align, r.range.base, PhysAddr(win_end))
                  : Result<PhysAddr>(Errno::kEINVAL);
    if (!pa.ok()) {
      pr_err("Reserved memory: failed to place %s (%#llx bytes, align %#llx)\n", r.name,
             ull(r.dyn_size), ull(r.dyn_align));
      continue;
    }
    if (r.flags & (kResvNoMap | kResvFirmware)) TRY(memblock.mark_nomap(*pa, size));
    record(r, PhysRange{*pa, size});
    pr_info("Reserved memory: allocated %s [%#llx-%#llx]\n", r.name, ull(pa->value()),
            ull(pa->value() + size - 1));
  }
  pr_info("memblock: %lluM RAM, %lluK reserved\n", ull(memblock.phys_mem_size() >> 20),
          ull(memblock.reserved_size() >> 10));
  return {};
}

size_t reserved_mem_count() { return g_nr_reserved_mem; }
const ReservedMem* reserved_mem(size_t i) {
  return i < g_nr_reserved_mem ? &g_reserved_mem[i] : nullptr;
}
const ReservedMem* reserved_mem_lookup(uint32_t phandle) {
  if (!phandle) return nullptr;
  for (size_t i = 0; i < g_nr_reserved_mem; ++i)
    if (g_reserved_mem[i].phandle == phandle) return &g_reserved_mem[i];
  return nullptr;
}

}  // namespace k
