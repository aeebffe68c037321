// Strong value types for addresses and frame numbers.
//
// Addresses that cross a module boundary carry their meaning in the type
// (STYLE.md "Types carry meaning"): a PhysAddr cannot be passed where a
// VirtAddr is expected without an explicit conversion.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>

namespace k {

inline constexpr unsigned kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
inline constexpr uint64_t kPageMask = ~(kPageSize - 1);

constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
constexpr bool is_aligned(uint64_t v, uint64_t a) { return (v & (a - 1)) == 0; }
constexpr bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Defines an address-like strong type with arithmetic on byte offsets.
template <typename Tag>
class Address {
 public:
  constexpr Address() = default;
  constexpr explicit Address(uint64_t v) : v_(v) {}
  constexpr uint64_t value() const { return v_; }
  constexpr Address operator+(uint64_t off) const { return Address(v_ + off); }
  constexpr Address operator-(uint64_t off) const { return Address(v_ - off); }
  constexpr uint64_t operator-(Address o) const { return v_ - o.v_; }
  constexpr Address& operator+=(uint64_t off) {
    v_ += off;
    return *this;
  }
  constexpr auto operator<=>(const Address&) const = default;
  constexpr Address page_down() const { return Address(align_down(v_, kPageSize)); }
  constexpr Address page_up() const { return Address(align_up(v_, kPageSize)); }
  constexpr bool page_aligned() const { return is_aligned(v_, kPageSize); }

 private:
  uint64_t v_ = 0;
};

struct PhysTag {};
struct VirtTag {};
struct DmaTag {};
using PhysAddr = Address<PhysTag>;
using VirtAddr = Address<VirtTag>;
// A bus address as a device sees it (after dma-ranges translation).
using DmaAddr = Address<DmaTag>;

// Page frame number: physical address >> kPageShift.
class Pfn {
 public:
  constexpr Pfn() = default;
  constexpr explicit Pfn(uint64_t v) : v_(v) {}
  static constexpr Pfn of(PhysAddr pa) { return Pfn(pa.value() >> kPageShift); }
  constexpr uint64_t value() const { return v_; }
  constexpr PhysAddr phys() const { return PhysAddr(v_ << kPageShift); }
  constexpr Pfn operator+(uint64_t n) const { return Pfn(v_ + n); }
  constexpr uint64_t operator-(Pfn o) const { return v_ - o.v_; }
  constexpr auto operator<=>(const Pfn&) const = default;

 private:
  uint64_t v_ = 0;
};

// A half-open physical range [base, base + size).
struct PhysRange {
  PhysAddr base;
  uint64_t size = 0;
  constexpr PhysAddr end() const { return base + size; }
  constexpr bool contains(PhysAddr a) const { return a >= base && a < end(); }
  constexpr bool overlaps(const PhysRange& o) const {
    return size && o.size && base < o.end() && o.base < end();
  }
};

}  // namespace k
