// Board hooks: kernel-side facts about one board or SoC that the device
// tree cannot express (errata, cache maintenance for non-coherent DMA).
//
// A board declares itself with DECLARE_BOARD; the descriptor lands in the
// `.boards` linker section. board_early_quirks() picks the descriptor whose
// `compatible` list best matches the DT root's `compatible` (the root's
// list runs from most to least specific, DT spec v0.4 section 3.2, so the
// earliest root entry that any board names wins, as in Linux's
// of_flat_dt_match_machine()) and runs its early hook.
//
//   const char* const kCompat[] = {"starfive,jh7110", nullptr};
//   DECLARE_BOARD(jh7110, .name = "StarFive JH7110", .compatible = kCompat,
//                 .early_quirks = jh7110_early, .cache_clean_range = l2_flush, ...);
//
// The DMA layer (mm/dma) calls board_cache_*_range() for devices that are not
// DMA-coherent; with no board or no hook they do nothing, which is right
// for coherent machines such as QEMU virt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/fdt.h"
#include "lib/types.h"

namespace k {

using BoardCacheOp = void (*)(PhysAddr pa, size_t size);

struct Board {
  const char* name = nullptr;
  // nullptr-terminated list matched against the DT root `compatible`.
  const char* const* compatible = nullptr;
  // Runs once on the boot hart right after setup_memory(): memblock and
  // arch::ioremap_boot() work, the page allocator does not exist yet, the
  // other harts are still stopped. May be nullptr.
  void (*early_quirks)(const fdt::Fdt& fdt) = nullptr;
  // Cache maintenance over a physical range for non-coherent DMA (Linux
  // arch_sync_dma_for_device/for_cpu vocabulary): clean = write dirty lines
  // back before a device reads; invalidate = drop stale lines before the
  // CPU reads what a device wrote; flush = both. nullptr = not needed.
  BoardCacheOp cache_clean_range = nullptr;
  BoardCacheOp cache_invalidate_range = nullptr;
  BoardCacheOp cache_flush_range = nullptr;
};

// Host builds use a section name that is a C identifier, so the host
// linker provides __start_/__stop_ symbols; the kernel's linker script
// names the bounds __boards_start/__boards_end (linker/kernel.ld).
#if defined(__KERNEL__)
#define K_BOARD_SECTION ".boards"
#else
#define K_BOARD_SECTION "k_boards"
#endif

// Every board descriptor linked into this image.
std::span<const Board> board_registry();

// The board among `boards` that best matches fdt's root compatible
// (earliest root entry wins; between boards naming the same entry, the
// first in registry order, which is link order); nullptr when
// none matches or the root has no compatible. *matched (if given) is set
// to the root compatible string that matched.
const Board* board_match(const fdt::Fdt& fdt, std::span<const Board> boards,
                         std::string_view* matched = nullptr);

// Finds this machine's board in board_registry(), remembers it for
// current_board() and runs its early_quirks. Call once, right after
// setup_memory(). Returns the board (nullptr: no board hooks, which is
// normal on QEMU virt).
const Board* board_early_quirks(const fdt::Fdt& fdt);
const Board* current_board();

// DMA-layer entry points; no-ops without a board hook.
bool board_has_cache_ops();
void board_cache_clean_range(PhysAddr pa, size_t size);
void board_cache_invalidate_range(PhysAddr pa, size_t size);
void board_cache_flush_range(PhysAddr pa, size_t size);

// Offset from a DRAM physical address to an uncached alias of it, for the
// CPU view of coherent-DMA memory on harts without Svpbmt; 0 = no alias
// (set by a board's early_quirks after it verified the alias).
uint64_t board_uncached_alias_offset();
void board_set_uncached_alias_offset(uint64_t offset);

// Host tests only: forget the current board.
void board_reset_for_test();

}  // namespace k

#define DECLARE_BOARD(id, ...)                             \
  [[gnu::used, gnu::section(K_BOARD_SECTION),              \
    gnu::aligned(8)]] static const ::k::Board board_##id { \
    __VA_ARGS__                                            \
  }
