// Flattened devicetree reader: validation and accessors (see lib/fdt.h).
//
// Early-boot rules apply: no switch statements (jump tables would hold
// link-time addresses), no static data holding pointers, byte-wise reads so
// any blob alignment works.
#include "lib/fdt.h"

namespace k::fdt {

namespace {

// Spec 5.4.1: structure block tokens.
constexpr uint32_t kBeginNode = 0x1;
constexpr uint32_t kEndNode = 0x2;
constexpr uint32_t kProp = 0x3;
constexpr uint32_t kNop = 0x4;
constexpr uint32_t kEnd = 0x9;

// Spec 5.2: header is 40 bytes from version 17 (size_dt_struct added), 36
// bytes before.
constexpr uint32_t kHeaderSizeV16 = 36;
constexpr uint32_t kHeaderSizeV17 = 40;

constexpr uint32_t align4(uint32_t v) { return (v + 3) & ~uint32_t{3}; }

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool str_eq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// string_view::substr throws on a bad position; the kernel has no
// exceptions, so slices are taken with this non-checking helper (callers
// keep pos <= s.size()).
std::string_view slice(std::string_view s, size_t pos, size_t len = ~size_t{0}) {
  const size_t rest = s.size() - pos;
  return std::string_view(s.data() + pos, len < rest ? len : rest);
}

size_t find_char(std::string_view s, char c) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == c) return i;
  return s.size();
}

// Length of the NUL-terminated string at p, scanning at most max bytes;
// returns max if there is no NUL.
uint32_t bounded_strlen(const uint8_t* p, uint32_t max) {
  for (uint32_t i = 0; i < max; ++i)
    if (p[i] == 0) return i;
  return max;
}

bool fail(ParseError* err, const char* what, uint32_t offset) {
  if (err) *err = ParseError{what, offset};
  return false;
}

// Validates the structure block: the token grammar of spec 5.4 plus every
// bound the accessors rely on. On success *used is the length up to and
// including FDT_END and *root the offset of the root node.
bool check_struct(const uint8_t* base, uint32_t off_struct, uint32_t size_struct,
                  uint32_t off_strings, uint32_t size_strings, ParseError* err, uint32_t* used,
                  uint32_t* root) {
  const uint8_t* s = base + off_struct;
  uint32_t off = 0;
  int depth = 0;
  bool seen_root = false;
  bool after_child = false;
  for (;;) {
    const uint32_t at = off_struct + off;
    if (size_struct - off < 4) return fail(err, "structure block ends without FDT_END", at);
    const uint32_t tag = be32(s + off);
    if (tag == kNop) {
      off += 4;
    } else if (tag == kBeginNode) {
      if (depth == 0 && seen_root) return fail(err, "more than one root node", at);
      if (depth == kMaxDepth) return fail(err, "node nesting deeper than the limit", at);
      const uint32_t room = size_struct - off - 4;
      const uint32_t len = bounded_strlen(s + off + 4, room);
      if (len == room) return fail(err, "unterminated node name", at);
      // Spec 2.2.1 / 5.4.1: the root node has an empty name.
      if (depth == 0 && len != 0) return fail(err, "root node name not empty", at);
      if (depth == 0) *root = off;
      seen_root = true;
      ++depth;
      after_child = false;
      // len + 1 <= room, so this cannot pass size_struct by more than 3.
      off = align4(off + 4 + len + 1);
      if (off > size_struct) return fail(err, "node name padding past end of structure block", at);
    } else if (tag == kEndNode) {
      if (depth == 0) return fail(err, "FDT_END_NODE without FDT_BEGIN_NODE", at);
      --depth;
      after_child = true;
      off += 4;
    } else if (tag == kProp) {
      if (depth == 0) return fail(err, "property outside any node", at);
      if (after_child) return fail(err, "property after a subnode", at);
      if (size_struct - off < 12) return fail(err, "truncated property header", at);
      const uint32_t len = be32(s + off + 4);
      const uint32_t nameoff = be32(s + off + 8);
      if (len > size_struct - off - 12)
        return fail(err, "property length past end of structure block", at);
      if (nameoff >= size_strings)
        return fail(err, "property name offset outside strings block", at);
      const uint32_t room = size_strings - nameoff;
      if (bounded_strlen(base + off_strings + nameoff, room) == room)
        return fail(err, "unterminated property name", at);
      const uint64_t next = (uint64_t{off} + 12 + len + 3) & ~uint64_t{3};
      if (next > size_struct) return fail(err, "property padding past end of structure block", at);
      off = static_cast<uint32_t>(next);
    } else if (tag == kEnd) {
      if (depth != 0) return fail(err, "FDT_END inside a node (unbalanced nesting)", at);
      if (!seen_root) return fail(err, "no root node", at);
      *used = off + 4;
      return true;
    } else {
      return fail(err, "unknown structure block token", at);
    }
  }
}

}  // namespace

// ---- Prop ----

std::optional<uint32_t> Prop::u32(size_t index) const {
  if (index >= data_.size() / 4) return std::nullopt;
  return be32(data_.data() + index * 4);
}

std::optional<uint64_t> Prop::u64(size_t index) const {
  if (index >= data_.size() / 8) return std::nullopt;
  const uint8_t* p = data_.data() + index * 8;
  return (uint64_t{be32(p)} << 32) | be32(p + 4);
}

std::optional<uint64_t> Prop::cells(size_t offset_in_cells, size_t ncells) const {
  const size_t total = data_.size() / 4;
  if (ncells > 2 || offset_in_cells > total || ncells > total - offset_in_cells)
    return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < ncells; ++i)
    v = (v << 32) | be32(data_.data() + (offset_in_cells + i) * 4);
  return v;
}

std::optional<uint64_t> Prop::u32_or_u64() const {
  if (data_.size() == 4) return u32(0);
  if (data_.size() == 8) return u64(0);
  return std::nullopt;
}

std::optional<std::string_view> Prop::str() const {
  for (size_t i = 0; i < data_.size(); ++i)
    if (data_[i] == 0) return std::string_view(reinterpret_cast<const char*>(data_.data()), i);
  return std::nullopt;
}

size_t Prop::string_count() const {
  size_t n = 0;
  for_each_string([&](std::string_view) { ++n; });
  return n;
}

bool Prop::has_string(std::string_view s) const {
  bool found = false;
  for_each_string([&](std::string_view v) {
    found = str_eq(v, s);
    return !found;
  });
  return found;
}

bool Prop::is_string(std::string_view s) const {
  if (data_.size() != s.size() + 1 || data_[s.size()] != 0) return false;
  return str_eq(std::string_view(reinterpret_cast<const char*>(data_.data()), s.size()), s);
}

// ---- Fdt: validation ----

std::optional<Fdt> Fdt::parse(const void* blob, size_t max_len, ParseError* err) {
  const auto* b = static_cast<const uint8_t*>(blob);
  if (!b) {
    fail(err, "null blob", 0);
    return std::nullopt;
  }
  if (max_len < 4) {
    fail(err, "truncated header", 0);
    return std::nullopt;
  }
  if (be32(b) != kMagic) {
    fail(err, "bad magic", 0);
    return std::nullopt;
  }
  if (max_len < kHeaderSizeV16) {
    fail(err, "truncated header", 0);
    return std::nullopt;
  }
  Fdt f;
  f.base_ = b;
  const uint32_t total = be32(b + 4);
  const uint32_t off_struct = be32(b + 8);
  const uint32_t off_strings = be32(b + 12);
  const uint32_t off_rsv = be32(b + 16);
  const uint32_t version = be32(b + 20);
  const uint32_t last_comp = be32(b + 24);
  if (version < kMinVersion) {
    fail(err, "unsupported version (< 16)", 20);
    return std::nullopt;
  }
  if (last_comp > kMaxLastCompVersion) {
    fail(err, "unsupported last_comp_version (> 17)", 24);
    return std::nullopt;
  }
  const uint32_t hdr = version >= 17 ? kHeaderSizeV17 : kHeaderSizeV16;
  if (total < hdr) {
    fail(err, "totalsize smaller than header", 4);
    return std::nullopt;
  }
  if (total > max_len) {
    fail(err, "totalsize larger than buffer", 4);
    return std::nullopt;
  }
  const uint32_t size_strings = be32(b + 32);
  uint32_t size_struct = version >= 17 ? be32(b + 36) : 0;

  // Spec 5.3: the reservation block is 8-byte aligned and ends with a
  // (0, 0) entry.
  if (off_rsv < hdr || off_rsv >= total || (off_rsv & 7) != 0) {
    fail(err, "off_mem_rsvmap out of range or misaligned", 16);
    return std::nullopt;
  }
  for (uint32_t off = off_rsv;; off += 16) {
    if (total - off < 16) {
      fail(err, "memory reservation block not terminated", off);
      return std::nullopt;
    }
    bool zero = true;
    for (uint32_t i = 0; i < 16; ++i) zero = zero && b[off + i] == 0;
    if (zero) break;
  }

  // Spec 5.4: the structure block is 4-byte aligned.
  if (off_struct < hdr || off_struct > total || (off_struct & 3) != 0) {
    fail(err, "off_dt_struct out of range or misaligned", 8);
    return std::nullopt;
  }
  if (version >= 17) {
    if (size_struct > total - off_struct) {
      fail(err, "size_dt_struct past totalsize", 36);
      return std::nullopt;
    }
  } else {
    size_struct = total - off_struct;
  }
  if (off_strings < hdr || off_strings > total || size_strings > total - off_strings) {
    fail(err, "strings block out of range", 12);
    return std::nullopt;
  }

  uint32_t used = 0, root = 0;
  if (!check_struct(b, off_struct, size_struct, off_strings, size_strings, err, &used, &root))
    return std::nullopt;

  f.total_size_ = total;
  f.version_ = version;
  f.boot_cpuid_ = be32(b + 28);
  f.off_struct_ = off_struct;
  f.size_struct_ = used;
  f.off_strings_ = off_strings;
  f.size_strings_ = size_strings;
  f.off_rsv_ = off_rsv;
  f.root_off_ = root;
  return f;
}

size_t Fdt::mem_rsv_count() const {
  size_t n = 0;
  for_each_mem_rsv([&](uint64_t, uint64_t) { ++n; });
  return n;
}

// ---- Fdt: structure walking ----
//
// parse() proved the grammar; the bounds checks here only keep a wrong
// offset passed by a caller from reading outside the structure block.

uint32_t Fdt::rd32(uint32_t abs_off) const { return be32(base_ + abs_off); }

uint32_t Fdt::tag_at(uint32_t off) const {
  if (off >= size_struct_ || size_struct_ - off < 4) return kEnd;
  return rd32(off_struct_ + off);
}

std::string_view Fdt::name_at(uint32_t node_off) const {
  if (tag_at(node_off) != kBeginNode) return {};
  const uint8_t* p = base_ + off_struct_ + node_off + 4;
  const uint32_t len = bounded_strlen(p, size_struct_ - node_off - 4);
  return std::string_view(reinterpret_cast<const char*>(p), len);
}

uint32_t Fdt::after_header(uint32_t node_off) const {
  return align4(node_off + 4 + static_cast<uint32_t>(name_at(node_off).size()) + 1);
}

uint32_t Fdt::skip_nops(uint32_t off) const {
  while (tag_at(off) == kNop) off += 4;
  return off;
}

Prop Fdt::prop_at(uint32_t prop_off) const {
  if (tag_at(prop_off) != kProp || size_struct_ - prop_off < 12) return {};
  const uint32_t len = rd32(off_struct_ + prop_off + 4);
  const uint32_t nameoff = rd32(off_struct_ + prop_off + 8);
  if (len > size_struct_ - prop_off - 12 || nameoff >= size_strings_) return {};
  const uint8_t* np = base_ + off_strings_ + nameoff;
  std::string_view name(reinterpret_cast<const char*>(np),
                        bounded_strlen(np, size_strings_ - nameoff));
  return Prop(name, std::span<const uint8_t>(base_ + off_struct_ + prop_off + 12, len), prop_off);
}

uint32_t Fdt::first_prop_off(uint32_t node_off) const {
  if (tag_at(node_off) != kBeginNode) return detail::kNone;
  const uint32_t off = skip_nops(after_header(node_off));
  return tag_at(off) == kProp ? off : detail::kNone;
}

uint32_t Fdt::next_prop_off(uint32_t prop_off) const {
  if (tag_at(prop_off) != kProp) return detail::kNone;
  const uint32_t len = rd32(off_struct_ + prop_off + 4);
  const uint32_t off = skip_nops(align4(prop_off + 12 + len));
  return tag_at(off) == kProp ? off : detail::kNone;
}

uint32_t Fdt::first_child_off(uint32_t node_off) const {
  if (tag_at(node_off) != kBeginNode) return detail::kNone;
  uint32_t off = skip_nops(after_header(node_off));
  while (tag_at(off) == kProp) off = skip_nops(align4(off + 12 + rd32(off_struct_ + off + 4)));
  return tag_at(off) == kBeginNode ? off : detail::kNone;
}

uint32_t Fdt::end_of_node(uint32_t node_off) const {
  uint32_t off = node_off;
  int depth = 0;
  for (;;) {
    const uint32_t tag = tag_at(off);
    if (tag == kBeginNode) {
      ++depth;
      off = after_header(off);
    } else if (tag == kEndNode) {
      off += 4;
      if (--depth == 0) return off;
    } else if (tag == kProp) {
      off = align4(off + 12 + rd32(off_struct_ + off + 4));
    } else if (tag == kNop) {
      off += 4;
    } else {
      return detail::kNone;
    }
  }
}

uint32_t Fdt::next_sibling_off(uint32_t node_off) const {
  if (tag_at(node_off) != kBeginNode) return detail::kNone;
  const uint32_t end = end_of_node(node_off);
  if (end == detail::kNone) return detail::kNone;
  const uint32_t off = skip_nops(end);
  return tag_at(off) == kBeginNode ? off : detail::kNone;
}

uint32_t Fdt::next_node_off(uint32_t node_off) const {
  if (tag_at(node_off) != kBeginNode) return detail::kNone;
  uint32_t off = after_header(node_off);
  for (;;) {
    const uint32_t tag = tag_at(off);
    if (tag == kBeginNode) return off;
    if (tag == kProp) {
      off = align4(off + 12 + rd32(off_struct_ + off + 4));
    } else if (tag == kNop || tag == kEndNode) {
      off += 4;
    } else {
      return detail::kNone;
    }
  }
}

int Fdt::path_to(uint32_t node_off, uint32_t (&path)[kMaxDepth + 1]) const {
  uint32_t off = root_off_;
  int depth = -1;
  for (;;) {
    const uint32_t tag = tag_at(off);
    if (tag == kBeginNode) {
      // parse() bounded the nesting at kMaxDepth.
      if (depth + 1 > kMaxDepth) return -1;
      path[++depth] = off;
      if (off == node_off) return depth;
      off = after_header(off);
    } else if (tag == kEndNode) {
      --depth;
      off += 4;
    } else if (tag == kProp) {
      off = align4(off + 12 + rd32(off_struct_ + off + 4));
    } else if (tag == kNop) {
      off += 4;
    } else {
      return -1;
    }
  }
}

// ---- Fdt: lookup ----

Node Fdt::root() const { return Node(*this, root_off_); }

std::optional<Node> Fdt::parent(const Node& n) const {
  uint32_t path[kMaxDepth + 1];
  const int depth = path_to(n.offset(), path);
  if (depth <= 0) return std::nullopt;
  return Node(*this, path[depth - 1]);
}

std::optional<Node> Fdt::find(std::string_view path) const {
  if (path.empty()) return std::nullopt;
  Node cur = root();
  size_t pos = 0;
  if (path[0] != '/') {
    // Spec 3.3: a path may start with an alias name.
    const size_t slash = find_char(path, '/');
    auto a = find_alias(slice(path, 0, slash));
    if (!a) return std::nullopt;
    cur = *a;
    pos = slash;
  }
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const std::string_view rest = slice(path, pos);
    const size_t len = find_char(rest, '/');
    auto c = cur.child(slice(rest, 0, len));
    if (!c) return std::nullopt;
    cur = *c;
    pos += len;
  }
  return cur;
}

std::optional<Node> Fdt::find_alias(std::string_view alias) const {
  auto aliases = root().child("aliases");
  if (!aliases) return std::nullopt;
  auto p = aliases->prop(alias);
  if (!p) return std::nullopt;
  auto target = p->str();
  // An alias value is an absolute path (spec 3.3); refusing anything else
  // also rules out alias loops.
  if (!target || target->empty() || (*target)[0] != '/') return std::nullopt;
  return find(*target);
}

std::optional<Node> Fdt::find_by_phandle(uint32_t phandle) const {
  // Spec 2.3.3: 0 and 0xffffffff are never valid phandles.
  if (phandle == 0 || phandle == ~uint32_t{0}) return std::nullopt;
  std::optional<Node> found;
  for_each_node([&](Node n) {
    if (n.phandle() == phandle) found = n;
    return !found;
  });
  return found;
}

bool Fdt::is_compatible(const Node& n, std::string_view compat) {
  auto p = n.prop("compatible");
  return p && p->has_string(compat);
}

bool Fdt::status_okay(const Node& n) {
  auto p = n.prop("status");
  if (!p) return true;
  return p->is_string("okay") || p->is_string("ok");
}

// ---- Fdt: addresses ----

namespace {
bool cells_ok(uint32_t c, uint32_t min) { return c >= min && c <= 2; }
}  // namespace

std::optional<RegEntry> Fdt::reg(const Node& n, size_t index) const {
  auto parent_node = parent(n);
  if (!parent_node) return std::nullopt;
  const uint32_t ac = parent_node->address_cells(), sc = parent_node->size_cells();
  if (!cells_ok(ac, 1) || !cells_ok(sc, 0)) return std::nullopt;
  auto p = n.prop("reg");
  if (!p) return std::nullopt;
  const size_t stride = ac + sc;
  if (index >= p->size() / 4 / stride) return std::nullopt;
  auto addr = p->cells(index * stride, ac);
  auto size = p->cells(index * stride + ac, sc);
  if (!addr || !size) return std::nullopt;
  return RegEntry{*addr, *size};
}

size_t Fdt::reg_count(const Node& n) const {
  auto parent_node = parent(n);
  if (!parent_node) return 0;
  const uint32_t ac = parent_node->address_cells(), sc = parent_node->size_cells();
  if (!cells_ok(ac, 1) || !cells_ok(sc, 0)) return 0;
  auto p = n.prop("reg");
  return p ? p->size() / 4 / (ac + sc) : 0;
}

std::optional<RegEntry> Fdt::reg_translated(const Node& n, size_t index) const {
  auto r = reg(n, index);
  if (!r) return std::nullopt;
  auto a = translate(n, r->addr);
  if (!a) return std::nullopt;
  return RegEntry{*a, r->size};
}

// path[0] is the root, path[depth] the device; the device's address lives
// in path[depth - 1]'s space. Walk each bus's `ranges` up to the root.
std::optional<uint64_t> Fdt::translate_path(const uint32_t* path, int depth, uint64_t addr) const {
  for (int i = depth - 1; i >= 1; --i) {
    const Node bus(*this, path[i]);
    const Node up(*this, path[i - 1]);
    auto r = bus.prop("ranges");
    // Spec 2.3.8: no ranges = the bus's children are not memory-mapped.
    if (!r) return std::nullopt;
    if (r->empty()) continue;
    const uint32_t ca = bus.address_cells(), sc = bus.size_cells(), pa = up.address_cells();
    if (!cells_ok(ca, 1) || !cells_ok(sc, 1) || !cells_ok(pa, 1)) return std::nullopt;
    const size_t stride = ca + pa + sc;
    const size_t count = r->size() / 4 / stride;
    bool hit = false;
    for (size_t e = 0; e < count && !hit; ++e) {
      const uint64_t c = *r->cells(e * stride, ca);
      const uint64_t p = *r->cells(e * stride + ca, pa);
      const uint64_t s = *r->cells(e * stride + ca + pa, sc);
      if (addr >= c && addr - c < s) {
        addr = p + (addr - c);
        hit = true;
      }
    }
    if (!hit) return std::nullopt;
  }
  return addr;
}

std::optional<uint64_t> Fdt::translate(const Node& n, uint64_t child_addr) const {
  uint32_t path[kMaxDepth + 1];
  const int depth = path_to(n.offset(), path);
  if (depth < 1) return std::nullopt;
  return translate_path(path, depth, child_addr);
}

std::optional<size_t> Fdt::dma_ranges(const Node& n, std::span<DmaWindow> out) const {
  uint32_t path[kMaxDepth + 1];
  const int depth = path_to(n.offset(), path);
  if (depth < 0 || out.empty()) return std::nullopt;
  // cur[] maps device bus addresses to addresses at the level reached so far.
  constexpr size_t kMax = 16;
  DmaWindow cur[kMax];
  DmaWindow next[kMax];
  size_t count = 1;
  cur[0] = DmaWindow{0, 0, kWholeSpace};
  // The root's own dma-ranges would map into nothing: it is the CPU space.
  for (int i = depth - 1; i >= 1; --i) {
    const Node bus(*this, path[i]);
    const Node up(*this, path[i - 1]);
    auto r = bus.prop("dma-ranges");
    if (!r || r->empty()) continue;
    const uint32_t ca = bus.address_cells(), sc = bus.size_cells(), pa = up.address_cells();
    if (!cells_ok(ca, 1) || !cells_ok(sc, 1) || !cells_ok(pa, 1)) return std::nullopt;
    const size_t stride = ca + pa + sc;
    const size_t entries = r->size() / 4 / stride;
    size_t n_next = 0;
    for (size_t w = 0; w < count; ++w) {
      const uint64_t w_last = cur[w].cpu_start + (cur[w].size - 1);
      for (size_t e = 0; e < entries; ++e) {
        const uint64_t c = *r->cells(e * stride, ca);
        const uint64_t p = *r->cells(e * stride + ca, pa);
        const uint64_t s = *r->cells(e * stride + ca + pa, sc);
        if (s == 0) continue;
        // Inclusive ends avoid overflow at the top of the address space.
        const uint64_t e_last = s - 1 > ~uint64_t{0} - c ? ~uint64_t{0} : c + (s - 1);
        const uint64_t lo = cur[w].cpu_start > c ? cur[w].cpu_start : c;
        const uint64_t hi = w_last < e_last ? w_last : e_last;
        if (lo > hi) continue;
        if (n_next == kMax) return std::nullopt;
        const uint64_t len = hi - lo;
        next[n_next++] = DmaWindow{p + (lo - c), cur[w].bus_start + (lo - cur[w].cpu_start),
                                   len == kWholeSpace ? kWholeSpace : len + 1};
      }
    }
    for (size_t k = 0; k < n_next; ++k) cur[k] = next[k];
    count = n_next;
  }
  if (count > out.size()) return std::nullopt;
  for (size_t k = 0; k < count; ++k) out[k] = cur[k];
  return count;
}

// ---- Node ----

std::string_view Node::base_name() const {
  const std::string_view n = name();
  return slice(n, 0, find_char(n, '@'));
}

std::string_view Node::unit_address() const {
  const std::string_view n = name();
  const size_t at = find_char(n, '@');
  return at == n.size() ? std::string_view() : slice(n, at + 1);
}

std::optional<Prop> Node::prop(std::string_view name) const {
  for (uint32_t p = fdt_.first_prop_off(off_); p != detail::kNone; p = fdt_.next_prop_off(p)) {
    const Prop pr = fdt_.prop_at(p);
    if (str_eq(pr.name(), name)) return pr;
  }
  return std::nullopt;
}

std::optional<Node> Node::child(std::string_view name) const {
  const bool want_unit = find_char(name, '@') != name.size();
  std::optional<Node> found;
  for_each_child([&](Node c) {
    const std::string_view cn = c.name();
    if (str_eq(cn, name) || (!want_unit && str_eq(c.base_name(), name) && cn.size() > name.size()))
      found = c;
    return !found;
  });
  return found;
}

uint32_t Node::address_cells() const {
  auto p = prop("#address-cells");
  return p && p->size() == 4 ? *p->u32(0) : 2;
}

uint32_t Node::size_cells() const {
  auto p = prop("#size-cells");
  return p && p->size() == 4 ? *p->u32(0) : 1;
}

std::optional<uint32_t> Node::phandle() const {
  auto p = prop("phandle");
  if (!p) p = prop("linux,phandle");
  if (!p || p->size() != 4) return std::nullopt;
  return p->u32(0);
}

}  // namespace k::fdt
