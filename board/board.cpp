#include "board/board.h"

#include "kernel/printk.h"

#if defined(__KERNEL__)
extern "C" const k::Board __boards_start[], __boards_end[];
#else
// Weak: a host test without any DECLARE_BOARD still links (empty registry).
extern "C" [[gnu::weak]] const k::Board __start_k_boards[];
extern "C" [[gnu::weak]] const k::Board __stop_k_boards[];
#endif

namespace k {
namespace {

const Board* g_board;
uint64_t g_uncached_alias;

// Whether the board lists `compat`.
bool board_names(const Board& b, std::string_view compat) {
  if (!b.compatible) return false;
  for (const char* const* c = b.compatible; *c; ++c)
    if (compat == *c) return true;
  return false;
}

}  // namespace

std::span<const Board> board_registry() {
#if defined(__KERNEL__)
  return {__boards_start, static_cast<size_t>(__boards_end - __boards_start)};
#else
  if (!__start_k_boards || !__stop_k_boards) return {};
  return {__start_k_boards, static_cast<size_t>(__stop_k_boards - __start_k_boards)};
#endif
}

const Board* board_match(const fdt::Fdt& fdt, std::span<const Board> boards,
                         std::string_view* matched) {
  auto compat = fdt.root().prop("compatible");
  if (!compat) return nullptr;
  const Board* best = nullptr;
  compat->for_each_string([&](std::string_view s) {
    if (s.empty()) return true;
    for (const Board& b : boards) {
      if (!board_names(b, s)) continue;
      best = &b;
      if (matched) *matched = s;
      return false;  // the most specific root entry decides
    }
    return true;
  });
  return best;
}

const Board* board_early_quirks(const fdt::Fdt& fdt) {
  std::string_view matched;
  g_board = board_match(fdt, board_registry(), &matched);
  if (!g_board) {
    pr_info("board: no board hooks for this machine (DT-described only)\n");
    return nullptr;
  }
  pr_info("board: %s (matched \"%.*s\")\n", g_board->name, static_cast<int>(matched.size()),
          matched.data());
  if (g_board->early_quirks) g_board->early_quirks(fdt);
  return g_board;
}

const Board* current_board() { return g_board; }

bool board_has_cache_ops() {
  return g_board && g_board->cache_clean_range && g_board->cache_invalidate_range &&
         g_board->cache_flush_range;
}

void board_cache_clean_range(PhysAddr pa, size_t size) {
  if (g_board && g_board->cache_clean_range && size) g_board->cache_clean_range(pa, size);
}

void board_cache_invalidate_range(PhysAddr pa, size_t size) {
  if (g_board && g_board->cache_invalidate_range && size) g_board->cache_invalidate_range(pa, size);
}

void board_cache_flush_range(PhysAddr pa, size_t size) {
  if (g_board && g_board->cache_flush_range && size) g_board->cache_flush_range(pa, size);
}

uint64_t board_uncached_alias_offset() { return g_uncached_alias; }
void board_set_uncached_alias_offset(uint64_t offset) { g_uncached_alias = offset; }

void board_reset_for_test() {
  g_board = nullptr;
  g_uncached_alias = 0;
}

}  // namespace k
