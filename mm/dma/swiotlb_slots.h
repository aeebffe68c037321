// The bounce pool's slot allocator (Linux kernel/dma/swiotlb.c keeps the
// same shape: fixed-size slots, contiguous runs, a bounded run length).
//
// Pure bookkeeping over a caller-provided bitmap, no memory of its own, so
// it is tested on the host. Not locked: the caller serialises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace k {

// Linux IO_TLB_SHIFT / IO_TLB_SEGSIZE: 2 KiB slots, runs of at most 128
// slots (256 KiB) per mapping.
inline constexpr unsigned kSwiotlbSlotShift = 11;
inline constexpr uint64_t kSwiotlbSlotSize = uint64_t{1} << kSwiotlbSlotShift;
inline constexpr uint32_t kSwiotlbMaxRun = 128;

class SwiotlbSlots {
 public:
  // Bitmap words needed for `nslots` slots.
  static constexpr size_t bitmap_words(uint32_t nslots) { return (nslots + 63) / 64; }

  // `bitmap` must hold bitmap_words(nslots) words; it is cleared.
  void init(uint64_t* bitmap, uint32_t nslots);

  // First-fit from a rotating cursor: `count` contiguous free slots whose
  // first index is a multiple of `align` (a power of two, in slots).
  // nullopt for count 0, count > kSwiotlbMaxRun, a bad alignment, or when
  // no run is free.
  std::optional<uint32_t> alloc(uint32_t count, uint32_t align = 1);
  // Frees a run; false (nothing changed) if any slot of it is not in use
  // or the range is outside the pool.
  bool free(uint32_t index, uint32_t count);

  bool in_use(uint32_t index) const;
  uint32_t nslots() const { return nslots_; }
  uint32_t used() const { return used_; }
  uint32_t high_water() const { return high_water_; }

 private:
  bool run_free(uint32_t index, uint32_t count) const;
  void set_run(uint32_t index, uint32_t count, bool on);

  uint64_t* bits_ = nullptr;
  uint32_t nslots_ = 0;
  uint32_t used_ = 0;
  uint32_t high_water_ = 0;
  uint32_t cursor_ = 0;
};

}  // namespace k
