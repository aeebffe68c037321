// Slab debugging (Linux mm/slub.c debug paths, Documentation/mm/slub.rst):
// `slab_debug=` parsing, poison and red-zone set-up and checks, the report
// format, and kmem_cache_validate().
//
// A report names the cache, the object and the first offending byte, then
// repairs what it found (restores the poison / red zone) so that the same
// corruption is reported once, not at every later check.
#include <atomic>
#include <cstdarg>
#include <cstring>
#include <utility>

#include "kernel/printk.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"

namespace k {

namespace {

std::atomic<uint64_t> g_reports{0};

// The parsed slab_debug= rules: one global block (no cache names) and up to
// kMaxRules blocks naming caches; a named rule wins over the global one.
constexpr unsigned kMaxRules = 4;
struct Rule {
  slab_flags_t flags = 0;
  char names[192] = {};  // comma-separated cache names
  bool used = false;
};
Rule g_rules[kMaxRules];
slab_flags_t g_global_flags = 0;
SpinLock g_rules_lock;

bool name_in_list(const char* list, const char* name) {
  const size_t len = strlen(name);
  for (const char* p = list; *p;) {
    const char* e = p;
    while (*e && *e != ',') ++e;
    if (static_cast<size_t>(e - p) == len && std::memcmp(p, name, len) == 0) return true;
    p = *e ? e + 1 : e;
  }
  return false;
}

// One block "<flags>[,<cache>,...]".
bool parse_block(std::string_view b) {
  bool ok = true;
  const size_t comma = b.find(',');
  const std::string_view opts = b.substr(0, comma);
  const std::string_view names =
      comma == std::string_view::npos ? std::string_view() : b.substr(comma + 1);
  slab_flags_t flags = 0;
  if (opts.empty()) {
    flags = SLAB_DEBUG_FLAGS;  // bare slab_debug: everything we have
  } else {
    for (char ch : opts) {
      switch (ch | 0x20) {
        case 'f':
          flags |= SLAB_CONSISTENCY_CHECKS;
          break;
        case 'z':
          flags |= SLAB_RED_ZONE;
          break;
        case 'p':
          flags |= SLAB_POISON;
          break;
        case 'u':  // owner tracking: KFENCE records alloc/free stacks for
        case 't':  // sampled objects instead (docs/kfence.md); tracing,
        case 'a':  // failslab filtering (failslab= covers every cache) and
        case 'o':  // Linux's min-order switch have no counterpart here
          pr_info("slab_debug: option '%c' accepted for Linux compatibility, no effect\n", ch);
          break;
        case '-':
          flags = 0;
          break;  // ('-' | 0x20 == '-')
        default:
          pr_warn("slab_debug: unknown option '%c' ignored\n", ch);
          ok = false;
      }
    }
  }
  if (names.empty()) {
    g_global_flags = flags;
    return ok;
  }
  for (Rule& r : g_rules) {
    if (r.used) continue;
    if (names.size() >= sizeof r.names) {
      pr_warn("slab_debug: cache list too long, ignored\n");
      return false;
    }
    std::memcpy(r.names, names.data(), names.size());
    r.names[names.size()] = 0;
    r.flags = flags;
    r.used = true;
    return ok;
  }
  pr_warn("slab_debug: more than %u cache lists, rest ignored\n", kMaxRules);
  return false;
}

// First byte in [p, p+len) that is not `expect`, or nullptr.
const uint8_t* find_mismatch(const uint8_t* p, size_t len, uint8_t expect) {
  for (size_t i = 0; i < len; ++i)
    if (p[i] != expect) return p + i;
  return nullptr;
}

// Checks [start, start+len) of obj's slot for `expect`; reports and repairs.
bool check_bytes(const KmemCache* s, void* obj, uint8_t* start, size_t len, uint8_t expect,
                 const char* what) {
  const uint8_t* bad = find_mismatch(start, len, expect);
  if (!bad) return true;
  slab_report(s, what, "object %p: byte at %p (object offset %ld) is 0x%02x instead of 0x%02x\n",
              obj, bad, static_cast<long>(bad - static_cast<uint8_t*>(obj)), *bad, expect);
  std::memset(start, expect, len);
  return false;
}

bool check_red_zones(const KmemCache* s, void* obj, uint8_t val) {
  if (!s->red_zone()) return true;
  auto* o = static_cast<uint8_t*>(obj);
  bool ok =
      check_bytes(s, obj, o - s->red_left_pad, s->red_left_pad, val, "Left Redzone overwritten");
  ok &= check_bytes(s, obj, o + s->object_size, s->rz_end - s->object_size, val,
                    "Right Redzone overwritten");
  return ok;
}

}  // namespace

void slab_report(const KmemCache* s, const char* what, const char* fmt, ...) {
  g_reports.fetch_add(1, std::memory_order_relaxed);
  pr_err("=============================================================================\n");
  pr_err("BUG %s: %s\n", s ? s->name : "kmalloc", what);
  va_list ap;
  va_start(ap, fmt);
  vprintk(LogLevel::kErr, fmt, ap);
  va_end(ap);
}

uint64_t slab_nr_reports() { return g_reports.load(std::memory_order_relaxed); }

void slab_debug_reset() {
  IrqSpinLockGuard g(g_rules_lock);
  for (Rule& r : g_rules) r = Rule{};
  g_global_flags = 0;
}

bool slab_parse_debug(std::string_view value) {
  IrqSpinLockGuard g(g_rules_lock);
  bool ok = true;
  while (true) {
    const size_t semi = value.find(';');
    ok &= parse_block(value.substr(0, semi));
    if (semi == std::string_view::npos) break;
    value.remove_prefix(semi + 1);
  }
  return ok;
}

void slab_set_debug_flags(slab_flags_t flags, std::string_view only_cache) {
  flags &= SLAB_DEBUG_FLAGS;
  IrqSpinLockGuard g(g_rules_lock);
  if (only_cache.empty()) {
    g_global_flags = flags;
    return;
  }
  for (Rule& r : g_rules) {
    if (r.used || only_cache.size() >= sizeof r.names) continue;
    std::memcpy(r.names, only_cache.data(), only_cache.size());
    r.names[only_cache.size()] = 0;
    r.flags = flags;
    r.used = true;
    return;
  }
  pr_warn("slab_debug: no room for another cache rule (%.*s)\n",
          static_cast<int>(only_cache.size()), only_cache.data());
}

slab_flags_t slab_debug_flags_for(const char* name) {
  IrqSpinLockGuard g(g_rules_lock);
  for (const Rule& r : g_rules)
    if (r.used && name_in_list(r.names, name)) return r.flags;
  return g_global_flags;
}

void init_object_debug(const KmemCache* s, void* obj, bool active) {
  auto* o = static_cast<uint8_t*>(obj);
  if (s->red_zone()) {
    const uint8_t v = active ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE;
    std::memset(o - s->red_left_pad, v, s->red_left_pad);
    std::memset(o + s->object_size, v, s->rz_end - s->object_size);
  }
  if (s->poison()) {
    if (active) {
      std::memset(o, POISON_INUSE, s->object_size);
    } else {
      std::memset(o, POISON_FREE, s->object_size - 1);
      o[s->object_size - 1] = POISON_END;
    }
  }
}

bool check_object_free(const KmemCache* s, const Page*, void* obj) {
  bool ok = check_red_zones(s, obj, SLUB_RED_INACTIVE);
  if (s->poison()) {
    auto* o = static_cast<uint8_t*>(obj);
    const uint8_t* bad = find_mismatch(o, s->object_size - 1, POISON_FREE);
    if (!bad && o[s->object_size - 1] != POISON_END) bad = o + s->object_size - 1;
    if (bad) {
      slab_report(s, "Poison overwritten",
                  "object %p written after free: byte at %p (object offset %ld) is 0x%02x\n", obj,
                  bad, static_cast<long>(bad - o), *bad);
      std::memset(o, POISON_FREE, s->object_size - 1);
      o[s->object_size - 1] = POISON_END;
      ok = false;
    }
  }
  return ok;
}

bool check_object_inuse(const KmemCache* s, const Page*, void* obj) {
  return check_red_zones(s, obj, SLUB_RED_ACTIVE);
}

bool on_freelist(const KmemCache* s, const Page* slab, const void* obj) {
  void* p = slab->slab.freelist;
  for (unsigned n = 0; p && n < slab->slab.objects; ++n) {
    if (p == obj) return true;
    if (slab_obj_index(s, slab, p) < 0) return false;  // corrupt; slab_take reports it
    p = get_freepointer(s, p);
  }
  return false;
}

void init_slab_padding(const KmemCache* s, const Page* slab) {
  std::memset(slab_base(slab), POISON_INUSE, s->slab_bytes());
}

bool check_slab_padding(const KmemCache* s, const Page* slab) {
  auto* base = reinterpret_cast<uint8_t*>(slab_base(slab));
  // Bytes before the first slot: the colour offset.
  const uint64_t head = slab->private_data - s->red_left_pad - reinterpret_cast<uintptr_t>(base);
  const uint64_t tail = head + uint64_t{s->objects} * s->size;
  bool ok = true;
  for (auto [b, e] : {std::pair<uint64_t, uint64_t>{0, head}, {tail, s->slab_bytes()}}) {
    const uint8_t* bad = find_mismatch(base + b, e - b, POISON_INUSE);
    if (bad) {
      slab_report(s, "Padding overwritten",
                  "slab %p: byte at %p (slab offset %ld) is 0x%02x instead of 0x%02x\n", base, bad,
                  static_cast<long>(bad - base), *bad, POISON_INUSE);
      std::memset(base + b, POISON_INUSE, e - b);
      ok = false;
    }
  }
  return ok;
}

unsigned kmem_cache_validate(KmemCache* s) {
  if (!s) return 0;
  drain_all_cpu_arrays(s);
  const uint64_t before = slab_nr_reports();
  for (unsigned nid = 0; nid < s->nr_nodes; ++nid) {
    KmemCacheNode* n = get_node(s, static_cast<int>(nid));
    IrqSpinLockGuard g(n->list_lock);
    for (ListHead* l : {&n->empty, &n->partial, &n->full}) {
      l->for_each([&](ListNode* ln) {
        Page* slab = page_from_lru(ln);
        if (s->poison()) check_slab_padding(s, slab);
        if (!s->debug()) return;
        for (unsigned i = 0; i < slab->slab.objects; ++i) {
          void* obj = object_at(s, slab, i);
          if (on_freelist(s, slab, obj))
            check_object_free(s, slab, obj);
          else
            check_object_inuse(s, slab, obj);
        }
      });
    }
  }
  return static_cast<unsigned>(slab_nr_reports() - before);
}

}  // namespace k
