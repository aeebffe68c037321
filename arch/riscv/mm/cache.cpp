#include "arch/riscv/mm/cache.h"

#include <atomic>

#include <arch/memory.h>

#include "arch/riscv/kernel/setup.h"
#include "arch/riscv/mm/pte.h"
#include "board/board.h"
#include "kernel/printk.h"
#include "lib/fdt_boot.h"
#include "lib/spinlock.h"

namespace arch {
namespace {

// Linux ARCH_DMA_MINALIGN for RISC-V (arch/riscv/include/asm/cache.h: L1
// line size 64) when the DT gives no riscv,cbom-block-size.
constexpr size_t kDefaultLine = 64;

struct CacheState {
  const CacheOps* board = nullptr;
  bool zicbom = false;
  bool probed = false;
  size_t cbom_block = 0;
  // Recording (tests); guarded by lock.
  k::SpinLock lock;
  CacheRecord* rec = nullptr;
  size_t rec_cap = 0;
  size_t rec_count = 0;
  bool recording = false;
};
CacheState g_cache;

// Zicbom (Zicbom 1.0, "cbo.clean/cbo.flush/cbo.inval"): MISC-MEM opcode
// 0x0f, funct3 2, rs1 = address, imm12 selects the operation (0 inval,
// 1 clean, 2 flush). Spelled with .insn so the -march of the kernel build
// does not need to know the extension; only executed when the DT says the
// harts implement it.
template <int kImm>
void cbo_range(k::PhysAddr pa, size_t size) {
  const size_t line = g_cache.cbom_block;
  uint64_t start = k::align_down(reinterpret_cast<uint64_t>(phys_to_virt(pa)), line);
  const uint64_t end = reinterpret_cast<uint64_t>(phys_to_virt(pa)) + size;
  for (; start < end; start += line)
    asm volatile(".insn i 0x0f, 2, x0, %0, %1" ::"r"(start), "i"(kImm) : "memory");
  asm volatile("fence rw, rw" ::: "memory");
}

const CacheOps kZicbomOps{"zicbom", cbo_range<1>, cbo_range<0>, cbo_range<2>};

// board/board.h hooks (e.g. the JH7110 L2 FLUSH64 register).
const CacheOps kBoardOps{"board", k::board_cache_clean_range, k::board_cache_invalidate_range,
                         k::board_cache_flush_range};

// Zicbom, else hooks installed with set_cache_ops(), else the board's.
const CacheOps* active() {
  if (g_cache.zicbom) return &kZicbomOps;
  if (g_cache.board) return g_cache.board;
  return k::board_has_cache_ops() ? &kBoardOps : nullptr;
}

void record(CacheOp op, k::PhysAddr pa, size_t size) {
  if (!g_cache.recording) return;
  k::IrqSpinLockGuard g(g_cache.lock);
  if (!g_cache.recording) return;
  if (g_cache.rec_count < g_cache.rec_cap)
    g_cache.rec[g_cache.rec_count] = CacheRecord{op, pa, size};
  ++g_cache.rec_count;
}

bool isa_has_zicbom(const k::fdt::HartInfo& h) {
  // riscv,isa-extensions (stringlist, newer DTs) or the riscv,isa string
  // ("rv64imafdc_zicbom_zicboz"): multi-letter extensions follow '_'.
  if (auto ext = h.node.prop("riscv,isa-extensions"))
    if (ext->has_string("zicbom")) return true;
  const std::string_view isa = h.isa;
  for (size_t pos = isa.find('_'); pos != std::string_view::npos; pos = isa.find('_', pos + 1)) {
    const std::string_view rest = isa.substr(pos + 1);
    const size_t end = rest.find('_');
    if (rest.substr(0, end) == "zicbom") return true;
  }
  return false;
}

}  // namespace

const char* cache_op_name(CacheOp op) {
  switch (op) {
    case CacheOp::kClean:
      return "clean";
    case CacheOp::kInvalidate:
      return "invalidate";
    case CacheOp::kFlush:
      return "flush";
  }
  return "?";
}

void set_cache_ops(const CacheOps* ops) {
  if (ops && (!ops->clean_range || !ops->invalidate_range || !ops->flush_range)) {
    pr_err("cache: board hooks \"%s\" incomplete; ignored\n", ops->name ? ops->name : "?");
    return;
  }
  g_cache.board = ops;
}

void cache_init(const k::fdt::Fdt& fdt) {
  if (g_cache.probed) return;
  g_cache.probed = true;
  bool all = true, any = false;
  uint64_t block = 0;
  k::fdt::for_each_hart(fdt, [&](const k::fdt::HartInfo& h) {
    if (!h.okay || !h.has_mmu) return;
    any = true;
    if (!isa_has_zicbom(h)) all = false;
    if (auto p = h.node.prop("riscv,cbom-block-size"))
      if (auto v = p->u32()) block = block ? (block < *v ? block : *v) : *v;
  });
  if (any && all) {
    if (!block || !k::is_pow2(block)) {
      pr_warn("cache: Zicbom without a valid riscv,cbom-block-size; not used\n");
    } else {
      g_cache.zicbom = true;
      g_cache.cbom_block = block;
    }
  }
  const CacheOps* ops = active();
  pr_info("cache: DMA maintenance by %s%s\n", ops ? ops->name : "nothing",
          ops ? "" : " (non-coherent devices need a no-map pool)");
}

const char* cache_provider() {
  const CacheOps* ops = active();
  return ops ? ops->name : nullptr;
}
bool cache_maintenance_available() { return active() != nullptr; }
size_t cache_line_size() { return g_cache.zicbom ? g_cache.cbom_block : kDefaultLine; }

uint64_t pgprot_dma_noncached() {
  return has_isa_extension("svpbmt") ? (pte::kKernelRW | pte::kPbmtNC) : 0;
}

void cache_clean_range(k::PhysAddr pa, size_t size) {
  record(CacheOp::kClean, pa, size);
  if (const CacheOps* ops = active(); ops && size) ops->clean_range(pa, size);
}
void cache_invalidate_range(k::PhysAddr pa, size_t size) {
  record(CacheOp::kInvalidate, pa, size);
  if (const CacheOps* ops = active(); ops && size) ops->invalidate_range(pa, size);
}
void cache_flush_range(k::PhysAddr pa, size_t size) {
  record(CacheOp::kFlush, pa, size);
  if (const CacheOps* ops = active(); ops && size) ops->flush_range(pa, size);
}

bool cache_record_begin(CacheRecord* buf, size_t cap) {
  k::IrqSpinLockGuard g(g_cache.lock);
  if (g_cache.recording) return false;
  g_cache.rec = buf;
  g_cache.rec_cap = cap;
  g_cache.rec_count = 0;
  g_cache.recording = true;
  return true;
}

size_t cache_record_end() {
  k::IrqSpinLockGuard g(g_cache.lock);
  g_cache.recording = false;
  g_cache.rec = nullptr;
  return g_cache.rec_count;
}

}  // namespace arch
