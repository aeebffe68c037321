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
