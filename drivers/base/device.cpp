#include "drivers/base/device.h"

#include <atomic>
#include <new>

#include "kernel/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/dma/dma_coherent_pool.h"
#include "mm/dma/dma_debug.h"
#include "mm/dma/dma_mapping.h"
#include "mm/kmalloc.h"

namespace k {
namespace {

SpinLock g_dev_lock;  // registry; leaf
ListHead g_devices;
std::atomic<bool> g_default_coherent{true};

void set_name(Device& d, std::string_view s) {
  const size_t n = s.size() < sizeof(d.name) - 1 ? s.size() : sizeof(d.name) - 1;
  memcpy(d.name, s.data(), n);
  d.name[n] = '\0';
}

Result<void> attach_memory_region(Device& d, const fdt::Node& node) {
  auto mr = node.prop("memory-region");
  if (!mr) return {};
  auto ph = mr->u32(0);
  if (!ph) return Errno::kEINVAL;
  const ReservedMem* rm = reserved_mem_lookup(*ph);
  if (!rm) {
    pr_err("%s: memory-region <%#x> is not a reserved-memory region\n", d.name, *ph);
    return Errno::kEINVAL;
  }
  d.mem_region = rm;
  if (!(rm->flags & kResvSharedDmaPool)) return {};
  if (!d.dma.phys_to_bus(rm->range.base.value(), rm->range.size, ~uint64_t{0})) {
    pr_err("%s: shared-dma-pool %s lies outside the device's DMA windows\n", d.name, rm->name);
    return Errno::kEINVAL;
  }
  auto pool = dma_coherent_pool_create(*rm);
  if (!pool) return pool.error();
  d.coherent_pool = *pool;
  if (!d.dma.coherent && !(*pool)->uncached)
    pr_warn("%s: non-coherent device with a mapped (not no-map) pool: pool unused\n", d.name);
  return {};
}

}  // namespace

ListHead& device_list_head() { return g_devices; }

void set_dma_default_coherent(bool coherent) { g_default_coherent.store(coherent); }
bool dma_default_coherent() { return g_default_coherent.load(); }

Result<Device*> device_create(const fdt::Fdt& fdt, const fdt::Node& node) {
  dma_init();
  auto cfg = dma_config_from_node(fdt, node, dma_default_coherent());
  if (!cfg) {
    pr_err("%.*s: malformed dma-ranges above the device\n", static_cast<int>(node.name().size()),
           node.name().data());
    return cfg.error();
  }
  auto* d = static_cast<Device*>(kmalloc(sizeof(Device), GFP_KERNEL));
  if (!d) return Errno::kENOMEM;
  new (d) Device();
  set_name(*d, node.name());
  d->node = node;
  d->dma = *cfg;
  auto nirq = dt_irqs(fdt, node, d->irqs, Device::kMaxIrqs);
  if (!nirq) {
    pr_err("%s: malformed interrupts\n", d->name);
    kfree(d);
    return Errno::kEINVAL;
  }
  d->nr_irqs = *nirq;
  if (auto r = attach_memory_region(*d, node); !r) {
    kfree(d);
    return r.error();
  }
  {
    IrqSpinLockGuard g(g_dev_lock);
    g_devices.push_back(&d->link);
  }
  if (d->dma.restricted)
    pr_info("%s: DMA window bus %#llx.. limit %#llx (cpu limit %#llx), %s\n", d->name,
            static_cast<unsigned long long>(d->dma.windows[0].bus_start),
            static_cast<unsigned long long>(d->dma.bus_limit),
            static_cast<unsigned long long>(d->dma.cpu_limit(~uint64_t{0})),
            d->dma.coherent ? "coherent" : "non-coherent");
  return d;
}

void device_destroy(Device* d) {
  if (!d) return;
  debug_dma_device_gone(d);
  {
    IrqSpinLockGuard g(g_dev_lock);
    if (d->link.linked()) d->link.unlink();
  }
  dma_coherent_pool_destroy(d->coherent_pool);
  d->~Device();
  kfree(d);
}

void device_init_fake(Device& d, const char* name, bool coherent) {
  new (&d) Device();  // not assignment: ListNode points at itself
  set_name(d, name ? std::string_view(name) : std::string_view("fake"));
  d.dma.windows[0] = fdt::DmaWindow{0, 0, fdt::kWholeSpace};
  d.dma.nr_windows = 1;
  d.dma.restricted = false;
  d.dma.bus_limit = ~uint64_t{0};
  d.dma.coherent = coherent;
  d.dma_mask = d.coherent_dma_mask = ~uint64_t{0};
}

Device* device_find(std::string_view name) {
  IrqSpinLockGuard g(g_dev_lock);
  Device* found = nullptr;
  g_devices.for_each([&](ListNode* n) {
    Device* d = container_of(n, &Device::link);
    if (!found && name == d->name) found = d;
  });
  return found;
}

size_t device_count() {
  IrqSpinLockGuard g(g_dev_lock);
  return g_devices.count();
}

}  // namespace k
