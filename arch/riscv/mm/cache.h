// Cache maintenance for DMA with non-coherent devices (ARCHITECTURE.md,
// "Arch <-> mm": cache maintenance for DMA).
//
// Three operations over a physical range, named as in Linux's
// arch/riscv/mm/dma-noncoherent.c:
//   clean       write dirty lines back, keep them valid   (Zicbom cbo.clean)
//   invalidate  drop lines without writing them back       (cbo.inval)
//   flush       write back and drop                        (cbo.flush)
//
// Provider, chosen once by cache_init(): Zicbom when every hart's riscv,isa
// names it (block size from riscv,cbom-block-size, Linux
// riscv/cpus.yaml), otherwise hooks installed with set_cache_ops(),
// otherwise the board's (board/board.h board_cache_*_range, e.g. the JH7110
// L2 FLUSH64 register, FACTS.md), otherwise none. Callers
// (mm/dma) only ask for maintenance for devices that are not coherent.
//
// Recording mode (self-tests): between cache_record_begin() and
// cache_record_end() every request is appended to the caller's buffer as
// well as performed, so a test on coherent QEMU without Zicbom can check
// which operations the DMA layer asked for, on which ranges.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/fdt.h"
#include "lib/types.h"

namespace arch {

enum class CacheOp : uint8_t { kClean, kInvalidate, kFlush };
const char* cache_op_name(CacheOp op);

// A board's maintenance hooks. Every pointer must be set; ranges need not
// be line aligned (providers round outward to their line size).
struct CacheOps {
  const char* name;
  void (*clean_range)(k::PhysAddr pa, size_t size);
  void (*invalidate_range)(k::PhysAddr pa, size_t size);
  void (*flush_range)(k::PhysAddr pa, size_t size);
};

// Installs board hooks; they win over Zicbom only when Zicbom is absent
// (cache_init() keeps a board's choice). nullptr removes them.
void set_cache_ops(const CacheOps* ops);
// Detects Zicbom on every usable hart of the DT. Idempotent.
void cache_init(const k::fdt::Fdt& fdt);
// The active provider ("zicbom", a board's name, or nullptr = none).
const char* cache_provider();
bool cache_maintenance_available();
// Line size the DMA layer aligns non-coherent buffers to (cbom block size,
// else 64, Linux ARCH_DMA_MINALIGN on RISC-V).
size_t cache_line_size();

// PTE flags for an uncached kernel mapping of normal memory (Svpbmt NC,
// Linux pgprot_dmacoherent), or 0 when the harts lack Svpbmt.
uint64_t pgprot_dma_noncached();

void cache_clean_range(k::PhysAddr pa, size_t size);
void cache_invalidate_range(k::PhysAddr pa, size_t size);
void cache_flush_range(k::PhysAddr pa, size_t size);

struct CacheRecord {
  CacheOp op;
  k::PhysAddr pa;
  size_t size;
};
// Starts recording into buf[0..cap). Nested recording is refused (false).
bool cache_record_begin(CacheRecord* buf, size_t cap);
// Stops recording; returns the number of requests made (may exceed cap:
// only the first cap are stored).
size_t cache_record_end();

}  // namespace arch
