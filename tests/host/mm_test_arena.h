// Host test harness for mm/: a fake machine whose "physical memory" is a
// private anonymous mapping. The mapping covers [phys_lo, phys_hi) of
// physical address space (MAP_NORESERVE, so holes between banks cost
// nothing until touched) and arch::g_layout is pointed at it, so
// arch::phys_to_virt() lands inside the arena for every RAM address.
#pragma once

#include <sys/mman.h>

#include <arch/cpu.h>
#include <arch/memory.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mm/boot_mem.h"
#include "mm/memblock.h"
#include "mm/mm_init.h"
#include "mm/numa.h"
#include "mm/page_alloc.h"
#include "mm/page_map.h"
#include "mm/zone.h"

namespace host {
std::string log_text();
void log_clear();
extern std::atomic<bool> g_log_echo;
}  // namespace host

namespace mmtest {

inline constexpr uint64_t MiB = uint64_t{1} << 20;
inline constexpr uint64_t GiB = uint64_t{1} << 30;

class Arena {
 public:
  Arena(uint64_t phys_lo, uint64_t phys_hi) : lo_(phys_lo), size_(phys_hi - phys_lo) {
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base_ == MAP_FAILED) base_ = nullptr;
    arch::g_layout = arch::Layout{};
    arch::g_layout.phys_ram_base = phys_lo;
    arch::g_layout.linear_base = reinterpret_cast<uint64_t>(base_);
    arch::g_layout.linear_size = size_;
  }
  ~Arena() {
    if (base_) munmap(base_, size_);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  bool ok() const { return base_ != nullptr; }
  bool contains(const void* p, uint64_t len) const {
    auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(base_);
    return a >= b && a + len <= b + size_;
  }

 private:
  uint64_t lo_, size_;
  void* base_ = nullptr;
};

// One buddyinfo snapshot: nr_free per order per populated zone, plus the
// zone's free page count.
struct ZoneState {
  int node;
  int zone;
  uint64_t nr_free[k::NR_PAGE_ORDERS];
  int64_t free_pages;
  bool operator==(const ZoneState& o) const {
    return node == o.node && zone == o.zone && free_pages == o.free_pages &&
           std::memcmp(nr_free, o.nr_free, sizeof nr_free) == 0;
  }
};

inline std::vector<ZoneState> buddy_snapshot() {
  std::vector<ZoneState> v;
  k::for_each_populated_zone([&](k::Zone& z) {
    ZoneState s{z.node, z.idx, {}, z.nr_free()};
    for (unsigned o = 0; o < k::NR_PAGE_ORDERS; ++o) s.nr_free[o] = z.free_area[o].nr_free;
    v.push_back(s);
  });
  return v;
}

// A booted fake machine: add RAM/reservations to info(), then boot().
class Machine {
 public:
  Machine(uint64_t phys_lo, uint64_t phys_hi, unsigned cpus = 1)
      : arena_(phys_lo, phys_hi), info_(std::make_unique<k::BootMemInfo>()) {
    arch::set_nr_cpus(cpus);
    arch::set_this_cpu(0);
    k::memblock.reset();
  }
  ~Machine() {
    k::memblock.reset();
    arch::set_nr_cpus(1);
    arch::set_this_cpu(0);
  }
  k::BootMemInfo& info() { return *info_; }
  Arena& arena() { return arena_; }

  // memblock from info, then the page allocator. The "kernel image" is the
  // first 2 MiB of RAM unless the test set one.
  bool boot(bool debug = false) {
    if (!arena_.ok()) return false;
    if (!info_->kernel.size && info_->nr_memory)
      info_->kernel = k::PhysRange{info_->memory[0].range.base, 2 * MiB};
    if (!k::memblock_init_from_bootmem(*info_).ok()) return false;
    k::memblock.allow_resize();
    k::KernelSectionSizes sizes{1 * MiB, 256 * 1024, 512 * 1024, 128 * 1024, 128 * 1024};
    return k::mm_init_page_alloc(*info_, sizes, debug);
  }

 private:
  Arena arena_;
  std::unique_ptr<k::BootMemInfo> info_;
};

inline int page_nid(const k::Page* p) { return p->nid; }
inline int page_zone_idx(const k::Page* p) { return p->zone_idx; }
inline uint64_t pfn_of(const k::Page* p) { return k::page_to_pfn(p).value(); }
inline uint64_t phys_of(const k::Page* p) { return k::page_to_phys(p).value(); }

}  // namespace mmtest
