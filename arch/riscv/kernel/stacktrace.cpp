// Frame-pointer stack walks for kernel/stacktrace.h.
#include "kernel/stacktrace.h"

#include <arch/percpu.h>

#include "kernel/printk.h"
#include "lib/kallsyms.h"

namespace k {
namespace {

// GCC's RISC-V frame record (with -fno-omit-frame-pointer): fp points at
// the caller's sp; the saved ra is at fp-8 and the caller's fp at fp-16.
// Bounds as in the oops path: the current kernel stack when known.
// Not inlined: stack_trace_save must not be a leaf function, whose frame
// record GCC reduces to the saved fp (no ra slot).
[[gnu::noinline]] unsigned walk(uint64_t fp, uint64_t* entries, unsigned max, unsigned skip) {
  const arch::CpuBlock* cb = arch::cpu_block();
  const uint64_t lo = cb && cb->stack_base ? cb->stack_base : 0;
  const uint64_t hi = cb && cb->stack_top ? cb->stack_top : ~uint64_t{0};
  unsigned n = 0;
  for (unsigned depth = 0; depth < 64 && n < max; ++depth) {
    if (fp < 16 || (fp & 7) || fp <= lo || fp > hi) break;
    const uint64_t ra = reinterpret_cast<const uint64_t*>(fp)[-1];
    const uint64_t next = reinterpret_cast<const uint64_t*>(fp)[-2];
    if (ra == 0) break;
    if (skip)
      --skip;
    else
      entries[n++] = ra;
    if (next <= fp) break;
    fp = next;
  }
  return n;
}

}  // namespace

[[gnu::noinline]] unsigned stack_trace_save(uint64_t* entries, unsigned max, unsigned skip) {
  // Our own frame's record names our caller's return address first. The
  // frame must outlive the walk: no tail call (the empty asm forbids it).
  unsigned n = walk(reinterpret_cast<uint64_t>(__builtin_frame_address(0)), entries, max, skip);
  asm volatile("" : "+r"(n));
  return n;
}

unsigned stack_trace_save_from(uint64_t pc, uint64_t fp, uint64_t* entries, unsigned max) {
  if (max == 0) return 0;
  entries[0] = pc;
  return 1 + walk(fp, entries + 1, max - 1, 0);
}

void stack_trace_print(const uint64_t* entries, unsigned n, bool first_is_pc) {
  for (unsigned i = 0; i < n; ++i) {
    // A return address is looked up one byte back, like Linux's %pB: after
    // a call to a noreturn function it may point at the next function.
    const bool ret = !(first_is_pc && i == 0);
    const uint64_t at = ret ? entries[i] - 1 : entries[i];
    Symbol sym;
    if (kallsyms_lookup(at, &sym))
      pr_err("  [<%016llx>] %s+0x%llx/0x%llx\n", static_cast<unsigned long long>(entries[i]),
             sym.name, static_cast<unsigned long long>(sym.offset + (entries[i] - at)),
             static_cast<unsigned long long>(sym.size));
    else
      pr_err("  [<%016llx>] ?\n", static_cast<unsigned long long>(entries[i]));
  }
}

}  // namespace k
