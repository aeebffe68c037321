// Host fake of the per-CPU template and blocks (tests/host/include/arch/
// percpu.h): a 256-byte template between __percpu_start and __percpu_end,
// and a table of per-CPU blocks that tests fill with set_cpu_block().
#include <arch/percpu.h>

#include <atomic>

// Symbols, not C++ arrays, so that __percpu_end - __percpu_start is the
// template size exactly as with the kernel's linker script.
asm(R"(
  .data
  .balign 64
  .globl __percpu_start
__percpu_start:
  .zero 256
  .globl __percpu_end
__percpu_end:
  .text
)");

namespace arch {
namespace {
constexpr unsigned kMaxFakeCpus = 64;
std::atomic<CpuBlock*> g_blocks[kMaxFakeCpus];
}  // namespace

CpuBlock* cpu_block_of(unsigned cpu) { return cpu < kMaxFakeCpus ? g_blocks[cpu].load() : nullptr; }
void set_cpu_block(unsigned cpu, CpuBlock* block) {
  if (cpu < kMaxFakeCpus) g_blocks[cpu].store(block);
}
}  // namespace arch

// Units for the growth interface: one reservation per fake CPU.
#include <sys/mman.h>

#include <cstring>

namespace arch {
namespace {
constexpr size_t kFakeUnitSize = size_t{4} << 20;  // 4 MiB of offsets per CPU
constexpr size_t kFakePage = 4096;
unsigned g_units = 0;
char* g_unit_base[kMaxFakeCpus];
std::atomic<uint64_t> g_populated{0};
std::atomic<uint64_t> g_fail_after{~uint64_t{0}};
}  // namespace

size_t percpu_unit_size() { return kFakeUnitSize; }

void percpu_depopulate(size_t offset, size_t size) {
  for (unsigned c = 0; c < g_units; ++c) {
    char* p = g_unit_base[c] + offset;
    for (size_t o = 0; o < size; o += kFakePage) {
      unsigned char in_core = 0;
      // Count only pages that were populated (mincore sees them resident).
      if (mincore(p + o, kFakePage, &in_core) == 0 && (in_core & 1)) g_populated.fetch_sub(1);
    }
    madvise(p, size, MADV_DONTNEED);
    mprotect(p, size, PROT_NONE);
  }
}

bool percpu_populate(size_t offset, size_t size) {
  if (offset % kFakePage || size % kFakePage || offset > kFakeUnitSize ||
      size > kFakeUnitSize - offset)
    return false;
  for (unsigned c = 0; c < g_units; ++c) {
    const uint64_t pages = size / kFakePage;
    if (g_fail_after.load() < pages) {
      // Undo the CPUs done so far, like the kernel's error path.
      for (unsigned d = 0; d < c; ++d) {
        madvise(g_unit_base[d] + offset, size, MADV_DONTNEED);
        mprotect(g_unit_base[d] + offset, size, PROT_NONE);
      }
      g_populated.fetch_sub(pages * c);
      return false;
    }
    if (g_fail_after.load() != ~uint64_t{0}) g_fail_after.fetch_sub(pages);
    char* p = g_unit_base[c] + offset;
    if (mprotect(p, size, PROT_READ | PROT_WRITE) != 0) return false;
    std::memset(p, 0, size);  // resident and zero, like fresh __GFP_ZERO pages
    g_populated.fetch_add(pages);
  }
  return true;
}

uint64_t percpu_populated_pages() { return g_populated.load(); }

void fake_percpu_fail_after(uint64_t pages) { g_fail_after.store(pages); }

bool fake_percpu_units(unsigned ncpus, size_t first_bytes) {
  for (unsigned c = 0; c < g_units; ++c) {
    munmap(g_unit_base[c], kFakeUnitSize);
    g_unit_base[c] = nullptr;
    set_cpu_block(c, nullptr);
  }
  g_units = 0;
  g_populated.store(0);
  g_fail_after.store(~uint64_t{0});
  if (ncpus > kMaxFakeCpus) return false;
  const size_t first = (first_bytes + kFakePage - 1) / kFakePage * kFakePage;
  for (unsigned c = 0; c < ncpus; ++c) {
    void* p =
        mmap(nullptr, kFakeUnitSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    g_unit_base[c] = static_cast<char*>(p);
    g_units = c + 1;
    mprotect(p, first, PROT_READ | PROT_WRITE);
    std::memset(p, 0xee, first);  // garbage, like memblock memory
    set_cpu_block(c, static_cast<CpuBlock*>(p));
  }
  return true;
}

}  // namespace arch
