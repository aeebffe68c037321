// GFP ("get free pages") flags: how an allocation may be satisfied.
// Names and meanings follow Linux include/linux/gfp_types.h; bit values are
// this kernel's own.
//
// Zone modifiers pick the highest zone an allocation may use:
//   none          -> ZONE_NORMAL (falls back to DMA32, then DMA)
//   __GFP_DMA32   -> ZONE_DMA32  (physical < 4 GiB; falls back to DMA)
//   __GFP_DMA     -> ZONE_DMA    (below the DT's most restrictive dma-ranges;
//                                 ZONE_DMA32 when the system has no ZONE_DMA)
// With no reclaim in this kernel, the action modifiers mean:
//   __GFP_HIGH     may use half of the min watermark reserve (ALLOC_MIN_RESERVE)
//   no __GFP_DIRECT_RECLAIM (ATOMIC, NOWAIT): "cannot block"; with __GFP_HIGH
//                  it may dig a further quarter into the reserve
//   __GFP_NORETRY  give up after the watermark-min attempt (no pcp drain)
//   __GFP_NOFAIL   may use all reserves before failing (warned loudly)
//   __GFP_NOWARN   no allocation-failure report
//   __GFP_THISNODE only the preferred node's zones
//   __GFP_ZERO     returned memory is zeroed
//   __GFP_COMP     order > 0 blocks become compound pages
#pragma once

#include <cstdint>

namespace k {

using gfp_t = uint32_t;

inline constexpr gfp_t __GFP_DMA = 1u << 0;
inline constexpr gfp_t __GFP_DMA32 = 1u << 2;
inline constexpr gfp_t __GFP_HIGH = 1u << 5;
inline constexpr gfp_t __GFP_IO = 1u << 6;
inline constexpr gfp_t __GFP_FS = 1u << 7;
inline constexpr gfp_t __GFP_ZERO = 1u << 8;
inline constexpr gfp_t __GFP_DIRECT_RECLAIM = 1u << 10;
inline constexpr gfp_t __GFP_KSWAPD_RECLAIM = 1u << 11;
inline constexpr gfp_t __GFP_NOWARN = 1u << 13;
inline constexpr gfp_t __GFP_NOFAIL = 1u << 15;
inline constexpr gfp_t __GFP_NORETRY = 1u << 16;
inline constexpr gfp_t __GFP_COMP = 1u << 18;
inline constexpr gfp_t __GFP_HARDWALL = 1u << 20;
inline constexpr gfp_t __GFP_THISNODE = 1u << 21;

inline constexpr gfp_t __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
inline constexpr gfp_t GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
inline constexpr gfp_t GFP_DMA = __GFP_DMA;
inline constexpr gfp_t GFP_DMA32 = __GFP_DMA32;

inline constexpr bool gfpflags_allow_blocking(gfp_t gfp) { return gfp & __GFP_DIRECT_RECLAIM; }

// Writes a readable form of gfp ("GFP_KERNEL|__GFP_ZERO") into buf.
void format_gfp(gfp_t gfp, char* buf, unsigned len);

}  // namespace k
