// Flattened devicetree (DTB) reader.
//
// Implements the format of the Devicetree Specification v0.4, chapter 5
// ("Flattened Devicetree (DTB) Format") and the address rules of chapter 2
// (#address-cells/#size-cells 2.3.5, reg 2.3.6, ranges 2.3.8,
// dma-ranges 2.3.9).
//
//   ParseError err;
//   auto fdt = k::fdt::Fdt::parse(dtb, max_len, &err);
//   if (!fdt) panic("bad DTB: %s at %#x", err.what, err.offset);
//   if (auto cpus = fdt->find("/cpus")) ...
//
// Runs before the MMU is on, at a physical address that differs from the
// link address: everything here is plain code over a byte buffer (no virtual
// functions, no tables of pointers, no switch statements, no static
// constructors). parse() validates the whole blob once; afterwards the
// accessors trust the structure but still never read outside it.
//
// Handles (Node, Prop) carry a copy of the blob's geometry, so they stay
// valid as long as the blob's bytes do, independent of the Fdt object.
// Offsets are relative to the structure block, like libfdt's node offsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace k::fdt {

// Spec 5.2: header magic and versions this reader understands.
inline constexpr uint32_t kMagic = 0xd00dfeed;
inline constexpr uint32_t kMinVersion = 16;
inline constexpr uint32_t kMaxLastCompVersion = 17;
// Nesting deeper than this is rejected by parse(); real trees use < 10.
inline constexpr int kMaxDepth = 64;
// Linux's NUMA_NO_NODE: the node has no numa-node-id.
inline constexpr int kNumaNoNode = -1;

struct ParseError {
  const char* what = nullptr;  // static string naming the problem
  uint32_t offset = 0;         // byte offset in the blob where it was found
};

struct RegEntry {
  uint64_t addr = 0;
  uint64_t size = 0;
};

// One window of a device's DMA view (spec 2.3.9): bus addresses
// [bus_start, bus_start + size) reach CPU physical addresses
// [cpu_start, cpu_start + size). A device with no dma-ranges anywhere above
// it gets one identity window of size kWholeSpace.
struct DmaWindow {
  uint64_t cpu_start = 0;
  uint64_t bus_start = 0;
  uint64_t size = 0;
};
inline constexpr uint64_t kWholeSpace = ~uint64_t{0};

class Fdt;
class Node;

namespace detail {
// Calls f(args...); a callback may return bool (false = stop) or void.
template <typename F, typename... A>
inline bool keep_going(F& f, A&&... a) {
  if constexpr (std::is_same_v<std::invoke_result_t<F&, A...>, bool>) {
    return f(static_cast<A&&>(a)...);
  } else {
    f(static_cast<A&&>(a)...);
    return true;
  }
}
inline constexpr uint32_t kNone = ~uint32_t{0};
}  // namespace detail

// A property: its name and raw big-endian bytes.
class Prop {
 public:
  Prop() = default;
  Prop(std::string_view name, std::span<const uint8_t> data, uint32_t offset)
      : name_(name), data_(data), offset_(offset) {}

  std::string_view name() const { return name_; }
  std::span<const uint8_t> data() const { return data_; }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  uint32_t offset() const { return offset_; }

  // The index'th 32-bit cell.
  std::optional<uint32_t> u32(size_t index = 0) const;
  // The index'th 64-bit value (index * 8 bytes in).
  std::optional<uint64_t> u64(size_t index = 0) const;
  // A number of `ncells` (0..2) cells starting at cell `offset_in_cells`;
  // 0 cells read as 0 (e.g. #size-cells = <0>).
  std::optional<uint64_t> cells(size_t offset_in_cells, size_t ncells) const;
  // A 32- or 64-bit value, whichever the property's length says (e.g.
  // linux,initrd-start, timebase-frequency).
  std::optional<uint64_t> u32_or_u64() const;
  // The value as one NUL-terminated string (spec 2.2.4 <string>).
  std::optional<std::string_view> str() const;
  // Each string of a <stringlist>; trailing bytes without a NUL are ignored.
  template <typename F>
  void for_each_string(F f) const;
  size_t string_count() const;
  // Whether the stringlist contains `s`.
  bool has_string(std::string_view s) const;
  // Whether the value is exactly the string `s` (with its NUL).
  bool is_string(std::string_view s) const;

 private:
  std::string_view name_;
  std::span<const uint8_t> data_;
  uint32_t offset_ = 0;
};

// A validated blob. Cheap to copy (a pointer and the block geometry).
class Fdt {
 public:
  // Validates `blob` (at most max_len bytes readable) and returns a reader,
  // or nullopt with *err (if given) naming the first problem found.
  static std::optional<Fdt> parse(const void* blob, size_t max_len, ParseError* err = nullptr);

  const void* data() const { return base_; }
  uint32_t total_size() const { return total_size_; }
  uint32_t version() const { return version_; }
  uint32_t boot_cpuid() const { return boot_cpuid_; }

  Node root() const;
  uint32_t root_offset() const { return root_off_; }
  // Absolute path ("/soc/serial@10000000"; "/memory" matches
  // "memory@80000000") or an alias name from /aliases, optionally followed
  // by a path ("serial0", "mmc0/card@0").
  std::optional<Node> find(std::string_view path) const;
  // The path stored in /aliases/<alias>, resolved.
  std::optional<Node> find_alias(std::string_view alias) const;
  std::optional<Node> find_by_phandle(uint32_t phandle) const;
  // Every node, depth first, root first. F(Node) -> void or bool.
  template <typename F>
  void for_each_node(F f) const;
  // Every node whose compatible list contains `compat`.
  template <typename F>
  void for_each_compatible(std::string_view compat, F f) const;
  // The parent of n (nullopt for the root), found by one scan. O(n).
  std::optional<Node> parent(const Node& n) const;

  static bool is_compatible(const Node& n, std::string_view compat);
  // Spec 2.3.4: absent, "okay" or "ok" means usable.
  static bool status_okay(const Node& n);

  // Memory reservation block (spec 5.3). F(uint64_t addr, uint64_t size).
  template <typename F>
  void for_each_mem_rsv(F f) const;
  size_t mem_rsv_count() const;

  // reg decoding with the parent's #address-cells (1 or 2) and #size-cells
  // (0..2); any other cell count, or index out of range -> nullopt.
  std::optional<RegEntry> reg(const Node& n, size_t index) const;
  size_t reg_count(const Node& n) const;
  // reg with the address translated to a CPU physical address.
  std::optional<RegEntry> reg_translated(const Node& n, size_t index) const;
  // Translates an address in n's parent bus space through the `ranges` of
  // every bus above n (spec 2.3.8): empty ranges = identity, missing ranges
  // below the root = not translatable.
  std::optional<uint64_t> translate(const Node& n, uint64_t child_addr) const;
  // The windows through which device `n` reaches CPU memory: the dma-ranges
  // of every bus above n (spec 2.3.9; missing or empty = identity at that
  // level, as in Linux), composed up to the root. Fills `out` and returns
  // the number of windows, or nullopt if a dma-ranges is malformed or more
  // windows result than `out` holds. Zero windows: the device reaches no
  // memory at all.
  std::optional<size_t> dma_ranges(const Node& n, std::span<DmaWindow> out) const;

  // Low-level walking (offsets relative to the structure block); used by
  // the templates below. kNone means "no such token".
  uint32_t first_prop_off(uint32_t node_off) const;
  uint32_t next_prop_off(uint32_t prop_off) const;
  uint32_t first_child_off(uint32_t node_off) const;
  uint32_t next_sibling_off(uint32_t node_off) const;
  uint32_t next_node_off(uint32_t node_off) const;
  Prop prop_at(uint32_t prop_off) const;
  std::string_view name_at(uint32_t node_off) const;

 private:
  friend class Node;
  uint32_t rd32(uint32_t abs_off) const;
  uint32_t tag_at(uint32_t off) const;
  uint32_t after_header(uint32_t node_off) const;
  uint32_t skip_nops(uint32_t off) const;
  uint32_t end_of_node(uint32_t node_off) const;
  // Fills path[0..depth] with the offsets from the root down to node_off;
  // returns depth (0 = root) or -1 if node_off is not a node.
  int path_to(uint32_t node_off, uint32_t (&path)[kMaxDepth + 1]) const;
  std::optional<uint64_t> translate_path(const uint32_t* path, int depth, uint64_t addr) const;

  const uint8_t* base_ = nullptr;
  uint32_t total_size_ = 0;
  uint32_t version_ = 0;
  uint32_t boot_cpuid_ = 0;
  uint32_t off_struct_ = 0;
  uint32_t size_struct_ = 0;
  uint32_t off_strings_ = 0;
  uint32_t size_strings_ = 0;
  uint32_t off_rsv_ = 0;
  uint32_t root_off_ = 0;
};

// A node handle: the blob plus the offset of its FDT_BEGIN_NODE token.
class Node {
 public:
  // An empty handle; only valid() may be called on it.
  Node() = default;
  Node(const Fdt& fdt, uint32_t off) : fdt_(fdt), off_(off) {}

  bool valid() const { return fdt_.data() != nullptr; }
  const Fdt& fdt() const { return fdt_; }
  uint32_t offset() const { return off_; }
  bool operator==(const Node& o) const { return off_ == o.off_ && fdt_.data() == o.fdt_.data(); }

  // Full name including the unit address ("serial@10000000"; "" for root).
  std::string_view name() const { return fdt_.name_at(off_); }
  // Name without the unit address ("serial").
  std::string_view base_name() const;
  // Unit address part after '@' ("10000000"), empty if none.
  std::string_view unit_address() const;
  bool is_root() const { return off_ == fdt_.root_offset(); }

  std::optional<Prop> prop(std::string_view name) const;
  bool has_prop(std::string_view name) const { return prop(name).has_value(); }
  // F(const Prop&) -> void or bool.
  template <typename F>
  void for_each_prop(F f) const;
  // F(Node) -> void or bool.
  template <typename F>
  void for_each_child(F f) const;
  // Exact name, or the name before '@' when `name` has no '@'.
  std::optional<Node> child(std::string_view name) const;
  std::optional<Node> parent() const { return fdt_.parent(*this); }
  // This node's #address-cells / #size-cells as a bus (spec 2.3.5: 2 and 1
  // when absent).
  uint32_t address_cells() const;
  uint32_t size_cells() const;
  // phandle or linux,phandle.
  std::optional<uint32_t> phandle() const;

 private:
  Fdt fdt_;
  uint32_t off_ = 0;
};

// ---- template definitions ----

template <typename F>
void Prop::for_each_string(F f) const {
  size_t start = 0;
  for (size_t i = 0; i < data_.size(); ++i) {
    if (data_[i] != 0) continue;
    std::string_view s(reinterpret_cast<const char*>(data_.data()) + start, i - start);
    if (!detail::keep_going(f, s)) return;
    start = i + 1;
  }
}

template <typename F>
void Fdt::for_each_node(F f) const {
  for (uint32_t off = root_off_; off != detail::kNone; off = next_node_off(off)) {
    if (!detail::keep_going(f, Node(*this, off))) return;
  }
}

template <typename F>
void Fdt::for_each_compatible(std::string_view compat, F f) const {
  bool go = true;
  for_each_node([&](Node n) {
    if (is_compatible(n, compat)) go = detail::keep_going(f, n);
    return go;
  });
}

template <typename F>
void Fdt::for_each_mem_rsv(F f) const {
  // parse() proved the terminating (0, 0) entry lies inside the blob.
  for (uint32_t off = off_rsv_;; off += 16) {
    uint64_t addr = (uint64_t{rd32(off)} << 32) | rd32(off + 4);
    uint64_t size = (uint64_t{rd32(off + 8)} << 32) | rd32(off + 12);
    if (addr == 0 && size == 0) return;
    if (!detail::keep_going(f, addr, size)) return;
  }
}

template <typename F>
void Node::for_each_prop(F f) const {
  for (uint32_t p = fdt_.first_prop_off(off_); p != detail::kNone; p = fdt_.next_prop_off(p)) {
    const Prop prop = fdt_.prop_at(p);
    if (!detail::keep_going(f, prop)) return;
  }
}

template <typename F>
void Node::for_each_child(F f) const {
  for (uint32_t c = fdt_.first_child_off(off_); c != detail::kNone; c = fdt_.next_sibling_off(c)) {
    if (!detail::keep_going(f, Node(fdt_, c))) return;
  }
}

}  // namespace k::fdt
