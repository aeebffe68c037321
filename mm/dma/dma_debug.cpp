#include "mm/dma/dma_debug.h"

#include <atomic>

#include <arch/memory.h>

#include "kernel/boot_info.h"
#include "kernel/printk.h"
#include "lib/cmdline.h"
#include "lib/spinlock.h"

namespace k {
namespace {

constexpr size_t kMaxEntries = 1024;
// Recently unmapped mappings, to tell "double unmap" from "never mapped".
constexpr size_t kRecent = 64;

struct Entry {
  const Device* dev;
  uint64_t addr;  // bus address
  uint64_t pa;
  uint64_t size;
  dma_data_direction dir;
  bool cpu_owned;  // after sync_for_cpu, until sync_for_device
  bool used;
};

struct State {
  SpinLock lock;  // leaf; IRQs off
  Entry entries[kMaxEntries];
  size_t live = 0;
  Entry recent[kRecent];
  size_t recent_next = 0;
  bool overflow_warned = false;
};
State g_dbg;
std::atomic<bool> g_enabled{false};
std::atomic<uint64_t> g_errors[static_cast<size_t>(DmaDebugError::kCount)];

const char* dev_name(const Device* d) { return d ? d->name : "(null)"; }

void report(DmaDebugError e, const Device* dev, const char* fmt_what, uint64_t addr, uint64_t size,
            uint64_t a, uint64_t b) {
  g_errors[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
  pr_err("DMA-API: %s: %s [bus %#llx size %llu] (%llu vs %llu)\n", dev_name(dev), fmt_what,
         static_cast<unsigned long long>(addr), static_cast<unsigned long long>(size),
         static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
}

Entry* find_exact(const Device* dev, uint64_t addr) {
  for (Entry& e : g_dbg.entries)
    if (e.used && e.dev == dev && e.addr == addr) return &e;
  return nullptr;
}
Entry* find_containing(const Device* dev, uint64_t addr, uint64_t size) {
  for (Entry& e : g_dbg.entries)
    if (e.used && e.dev == dev && addr >= e.addr && addr - e.addr + size <= e.size) return &e;
  return nullptr;
}
bool recently_unmapped(const Device* dev, uint64_t addr) {
  for (const Entry& e : g_dbg.recent)
    if (e.used && e.dev == dev && e.addr == addr) return true;
  return false;
}

void check_sync(const Device* dev, DmaAddr addr, size_t size, dma_data_direction dir,
                bool for_cpu) {
  IrqSpinLockGuard g(g_dbg.lock);
  Entry* e = find_containing(dev, addr.value(), size);
  if (!e) {
    report(DmaDebugError::kNotMapped, dev, "sync of memory that is not mapped", addr.value(), size,
           0, 0);
    return;
  }
  if (e->dir != dir)
    report(DmaDebugError::kDirMismatch, dev, "sync with a different direction than mapped",
           addr.value(), size, e->dir, dir);
  e->cpu_owned = for_cpu;
}

}  // namespace

bool dma_debug_enabled() { return g_enabled.load(std::memory_order_relaxed); }

void dma_debug_set_enabled(bool on) {
  IrqSpinLockGuard g(g_dbg.lock);
  if (!on) {
    // Forget everything: tracking restarts clean when re-enabled.
    for (Entry& e : g_dbg.entries) e.used = false;
    for (Entry& e : g_dbg.recent) e.used = false;
    g_dbg.live = 0;
  }
  g_enabled.store(on);
}

void dma_debug_init() {
  const auto v = cmdline_get(boot_params().cmdline, "dma_debug");
  if (!v) return;
  const auto on = parse_bool(*v);
  if (!on) {
    pr_warn("dma_debug=%.*s: expected 0 or 1, ignored\n", static_cast<int>(v->size()), v->data());
    return;
  }
  dma_debug_set_enabled(*on);
  if (*on) pr_info("DMA-API: debugging enabled (%zu entries)\n", kMaxEntries);
}

void debug_dma_map(const Device* dev, DmaAddr addr, PhysAddr pa, size_t size,
                   dma_data_direction dir) {
  if (!dma_debug_enabled()) return;
  IrqSpinLockGuard g(g_dbg.lock);
  for (Entry& e : g_dbg.entries) {
    if (e.used) continue;
    e = Entry{dev, addr.value(), pa.value(), size, dir, false, true};
    ++g_dbg.live;
    // A new mapping at this address is no longer "recently unmapped".
    for (Entry& r : g_dbg.recent)
      if (r.used && r.dev == dev && r.addr == addr.value()) r.used = false;
    return;
  }
  if (!g_dbg.overflow_warned) {
    g_dbg.overflow_warned = true;
    pr_warn("DMA-API: more than %zu live mappings; the rest are not checked\n", kMaxEntries);
  }
}

bool debug_dma_unmap(const Device* dev, DmaAddr addr, size_t size, dma_data_direction dir) {
  if (!dma_debug_enabled()) return true;
  IrqSpinLockGuard g(g_dbg.lock);
  Entry* e = find_exact(dev, addr.value());
  if (!e) {
    if (recently_unmapped(dev, addr.value()))
      report(DmaDebugError::kDoubleUnmap, dev, "unmapping memory already unmapped", addr.value(),
             size, 0, 0);
    else
      report(DmaDebugError::kNotMapped, dev, "unmapping memory that was never mapped", addr.value(),
             size, 0, 0);
    return false;
  }
  if (e->size != size)
    report(DmaDebugError::kSizeMismatch, dev, "unmap with a different size than mapped",
           addr.value(), size, e->size, size);
  if (e->dir != dir)
    report(DmaDebugError::kDirMismatch, dev, "unmap with a different direction than mapped",
           addr.value(), size, e->dir, dir);
  g_dbg.recent[g_dbg.recent_next] = *e;
  g_dbg.recent_next = (g_dbg.recent_next + 1) % kRecent;
  e->used = false;
  --g_dbg.live;
  return true;
}

void debug_dma_sync_for_cpu(const Device* dev, DmaAddr addr, size_t size, dma_data_direction dir) {
  if (dma_debug_enabled()) check_sync(dev, addr, size, dir, true);
}
void debug_dma_sync_for_device(const Device* dev, DmaAddr addr, size_t size,
                               dma_data_direction dir) {
  if (dma_debug_enabled()) check_sync(dev, addr, size, dir, false);
}

void debug_dma_device_gone(const Device* dev) {
  if (!dma_debug_enabled()) return;
  IrqSpinLockGuard g(g_dbg.lock);
  for (Entry& e : g_dbg.entries) {
    if (!e.used || e.dev != dev) continue;
    report(DmaDebugError::kLeakedMapping, dev, "device gone with a live mapping", e.addr, e.size, 0,
           0);
    e.used = false;
    --g_dbg.live;
  }
}

void dma_debug_cpu_access(const void* cpu_addr, size_t size) {
  if (!dma_debug_enabled() || size == 0) return;
  const uint64_t pa = arch::virt_to_phys(cpu_addr).value();
  IrqSpinLockGuard g(g_dbg.lock);
  for (const Entry& e : g_dbg.entries) {
    if (!e.used || e.cpu_owned) continue;
    if (pa < e.pa + e.size && e.pa < pa + size) {
      report(DmaDebugError::kCpuAccessDeviceOwned, e.dev,
             "CPU access to a buffer owned by the device (missing dma_sync_single_for_cpu?)",
             e.addr, e.size, pa, size);
      return;
    }
  }
}

uint64_t dma_debug_error_count(DmaDebugError e) {
  return g_errors[static_cast<size_t>(e)].load(std::memory_order_relaxed);
}
uint64_t dma_debug_error_total() {
  uint64_t t = 0;
  for (auto& c : g_errors) t += c.load(std::memory_order_relaxed);
  return t;
}
size_t dma_debug_live_entries() {
  IrqSpinLockGuard g(g_dbg.lock);
  return g_dbg.live;
}

}  // namespace k
