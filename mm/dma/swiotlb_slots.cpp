#include "mm/dma/swiotlb_slots.h"

namespace k {

void SwiotlbSlots::init(uint64_t* bitmap, uint32_t nslots) {
  bits_ = bitmap;
  nslots_ = nslots;
  used_ = high_water_ = cursor_ = 0;
  for (size_t i = 0; i < bitmap_words(nslots); ++i) bits_[i] = 0;
}

bool SwiotlbSlots::in_use(uint32_t index) const {
  return index < nslots_ && (bits_[index / 64] >> (index % 64)) & 1;
}

bool SwiotlbSlots::run_free(uint32_t index, uint32_t count) const {
  for (uint32_t i = index; i < index + count; ++i)
    if (in_use(i)) return false;
  return true;
}

void SwiotlbSlots::set_run(uint32_t index, uint32_t count, bool on) {
  for (uint32_t i = index; i < index + count; ++i) {
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (on)
      bits_[i / 64] |= bit;
    else
      bits_[i / 64] &= ~bit;
  }
}

std::optional<uint32_t> SwiotlbSlots::alloc(uint32_t count, uint32_t align) {
  if (count == 0 || count > kSwiotlbMaxRun || count > nslots_ || align == 0 ||
      (align & (align - 1)) != 0)
    return std::nullopt;
  if (nslots_ - used_ < count) return std::nullopt;
  // Two passes: from the cursor to the end, then from 0 to the cursor, so
  // successive mappings spread over the pool instead of all reusing the
  // first slots (Linux's io_tlb_mem.index does the same).
  const uint32_t start = (cursor_ + align - 1) & ~(align - 1);
  for (int pass = 0; pass < 2; ++pass) {
    uint32_t i = pass == 0 ? start : 0;
    const uint32_t stop = pass == 0 ? nslots_ : start;
    while (i + count <= nslots_ && i < stop) {
      if (run_free(i, count)) {
        set_run(i, count, true);
        used_ += count;
        if (used_ > high_water_) high_water_ = used_;
        cursor_ = i + count < nslots_ ? i + count : 0;
        return i;
      }
      i += align;
    }
  }
  return std::nullopt;
}

bool SwiotlbSlots::free(uint32_t index, uint32_t count) {
  if (count == 0 || index >= nslots_ || count > nslots_ - index) return false;
  for (uint32_t i = index; i < index + count; ++i)
    if (!in_use(i)) return false;
  set_run(index, count, false);
  used_ -= count;
  return true;
}

}  // namespace k
